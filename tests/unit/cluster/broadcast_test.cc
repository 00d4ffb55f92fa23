#include "cluster/broadcast.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace depot::cluster {
namespace {

std::string drain(Broadcast& bc, int reader) {
  std::string out;
  char buf[1000];
  for (;;) {
    long n = bc.read(reader, buf, sizeof buf);
    if (n <= 0) return n < 0 ? "ABORTED" : out;
    out.append(buf, static_cast<size_t>(n));
  }
}

std::string body(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i * 7 % 26);
  return s;
}

TEST(Broadcast, EveryReaderGetsTheWholeBodyOnce) {
  Broadcast bc(4096, 1024);
  const std::string want = body(100000);
  std::vector<int> readers{bc.add_reader(), bc.add_reader(), bc.add_reader()};
  std::vector<std::string> got(3);
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) threads.emplace_back([&, i] { got[i] = drain(bc, readers[i]); });
  for (size_t at = 0; at < want.size(); at += 777) {
    ASSERT_TRUE(bc.push(want.data() + at, std::min<size_t>(777, want.size() - at)));
  }
  bc.finish();
  for (auto& t : threads) t.join();
  for (const auto& g : got) EXPECT_EQ(g, want);
  EXPECT_EQ(bc.pushed(), want.size());
}

TEST(Broadcast, TheWriterWaitsForTheSlowestReaderUntilItLeaves) {
  Broadcast bc(2000, 0);
  int fast = bc.add_reader(), slow = bc.add_reader();
  std::atomic<uint64_t> pushed{0};
  std::thread writer([&] {
    const std::string chunk(500, 'x');
    for (int i = 0; i < 20; ++i) {
      if (!bc.push(chunk.data(), chunk.size())) break;
      pushed += chunk.size();
    }
    bc.finish();
  });
  std::thread reader([&] { drain(bc, fast); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_LE(pushed.load(), 2500u);  // held back by `slow`, which read nothing
  bc.leave(slow);
  writer.join();
  reader.join();
  EXPECT_EQ(pushed.load(), 10000u);
}

TEST(Broadcast, AbortEndsEveryReadWithFailure) {
  Broadcast bc(4096, 0);
  int r = bc.add_reader();
  std::string got;
  std::thread t([&] { got = drain(bc, r); });
  bc.push("abc", 3);
  bc.abort();
  t.join();
  EXPECT_EQ(got, "ABORTED");
}

TEST(Broadcast, ALateReaderStartsAtByteZeroWhileItIsKept) {
  Broadcast bc(1 << 20, 100);
  int a = bc.add_reader();
  bc.push("0123456789", 10);
  char buf[64];
  ASSERT_EQ(bc.read(a, buf, sizeof buf), 10);
  int late = bc.add_reader();  // within `keep`: byte 0 is still held
  ASSERT_GE(late, 0);
  std::string more(200, 'z');
  bc.push(more.data(), more.size());
  bc.finish();
  EXPECT_EQ(drain(bc, late), "0123456789" + more);
  EXPECT_EQ(drain(bc, a), more);
  EXPECT_EQ(bc.add_reader(), -1);  // past `keep`, everything read: byte 0 is gone
}

TEST(Broadcast, PushFailsWhenEveryReaderLeft) {
  Broadcast bc(4096, 0);
  int r = bc.add_reader();
  bc.leave(r);
  EXPECT_FALSE(bc.push("abc", 3));
}

TEST(Broadcast, ReadersAddedWhileOthersWaitEachGetTheWholeBody) {
  // add_reader grows the readers' table while earlier readers wait inside read().
  for (int round = 0; round < 50; ++round) {
    Broadcast bc(1 << 20, 1 << 19);
    const std::string want = body(300000);
    std::vector<std::string> got(40);
    std::vector<std::thread> threads;
    for (int i = 0; i < 40; ++i) {
      int r = bc.add_reader();
      ASSERT_GE(r, 0);
      threads.emplace_back([&, i, r] { got[i] = drain(bc, r); });
    }
    for (size_t at = 0; at < want.size(); at += 4096) {
      ASSERT_TRUE(bc.push(want.data() + at, std::min<size_t>(4096, want.size() - at)));
    }
    bc.finish();
    for (auto& t : threads) t.join();
    for (const auto& g : got) ASSERT_EQ(g, want);
  }
}

}  // namespace
}  // namespace depot::cluster

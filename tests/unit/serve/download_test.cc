#include "serve/download.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include "support/temp_dir.h"

namespace depot {
namespace {

using testing::TempDir;

std::span<const std::byte> bytes(std::string_view s) {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

class DownloadTest : public ::testing::Test {
 protected:
  std::shared_ptr<Download> make(bool streamable = true) {
    int fd = ::open((dir_.path() / "partial").c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
                    0644);
    return std::make_shared<Download>("k", UniqueFd(fd), streamable);
  }
  static ResponseStart start(int64_t length) {
    ResponseStart s;
    s.http_status = 200;
    s.content_length = length;
    return s;
  }
  TempDir dir_;
};

TEST_F(DownloadTest, StreamingHoldsBackTheLastByteUntilComplete) {
  auto d = make();
  EXPECT_EQ(d->snapshot().state, Download::State::kPending);
  d->on_start(start(6));
  EXPECT_EQ(d->snapshot().state, Download::State::kStreaming);
  ASSERT_TRUE(d->write(bytes("abc")).ok());
  EXPECT_EQ(d->snapshot().sendable(), 3u);
  ASSERT_TRUE(d->write(bytes("def")).ok());
  EXPECT_EQ(d->snapshot().available, 6u);
  EXPECT_EQ(d->snapshot().sendable(), 5u);  // all but the last byte
  d->finish_complete(UniqueFd(), 6, "");
  EXPECT_EQ(d->snapshot().sendable(), 6u);
  char buf[6];
  ASSERT_EQ(::pread(d->body_fd(), buf, 6, 0), 6);
  EXPECT_EQ(std::string(buf, 6), "abcdef");
}

TEST_F(DownloadTest, UndeclaredLengthOrNotStreamableWaitsForCompletion) {
  auto d = make();
  d->on_start(start(-1));
  EXPECT_EQ(d->snapshot().state, Download::State::kPending);
  auto e = make(/*streamable=*/false);
  e->on_start(start(3));
  EXPECT_EQ(e->snapshot().state, Download::State::kPending);
  ASSERT_TRUE(e->write(bytes("abc")).ok());
  EXPECT_EQ(e->snapshot().sendable(), 0u);
}

TEST_F(DownloadTest, WaitFiresOnProgressAndOnFailureExactlyOnce) {
  auto d = make();
  d->on_start(start(10));
  std::atomic<int> calls{0};
  d->wait(Download::State::kStreaming, 0, [&] { calls++; });
  EXPECT_EQ(calls, 0);
  ASSERT_TRUE(d->write(bytes("a")).ok());  // sendable still 0: only the last byte is held back
  ASSERT_TRUE(d->write(bytes("b")).ok());
  EXPECT_EQ(calls, 1);
  ASSERT_TRUE(d->write(bytes("c")).ok());
  EXPECT_EQ(calls, 1);
  d->wait(Download::State::kStreaming, d->snapshot().sendable(), [&] { calls++; });
  d->finish_failed(502, "boom");
  EXPECT_EQ(calls, 2);
  // Already changed: called at once.
  d->wait(Download::State::kStreaming, 0, [&] { calls++; });
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(d->snapshot().status, 502);
  EXPECT_EQ(d->snapshot().sendable(), 0u);
}

TEST_F(DownloadTest, RetryReplaysTheSameBytesAndRefusesDifferentOnes) {
  auto d = make();
  d->on_start(start(6));
  ASSERT_TRUE(d->write(bytes("abcd")).ok());
  ASSERT_TRUE(d->reset().ok());
  d->on_start(start(6));
  ASSERT_TRUE(d->write(bytes("ab")).ok());
  ASSERT_TRUE(d->write(bytes("cdef")).ok());
  EXPECT_EQ(d->snapshot().available, 6u);

  auto e = make();
  e->on_start(start(6));
  ASSERT_TRUE(e->write(bytes("abcd")).ok());
  ASSERT_TRUE(e->reset().ok());
  Status s = e->write(bytes("abXd"));
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kDigestMismatch);
}

TEST_F(DownloadTest, RetryWithAnotherLengthFails) {
  auto d = make();
  d->on_start(start(6));
  ASSERT_TRUE(d->write(bytes("abc")).ok());
  ASSERT_TRUE(d->reset().ok());
  d->on_start(start(7));
  EXPECT_EQ(d->snapshot().state, Download::State::kFailed);
  EXPECT_FALSE(d->write(bytes("abc")).ok());
}

TEST_F(DownloadTest, UnwaitDropsTheCallbackUncalled) {
  auto d = make();
  int calls = 0;
  uint64_t id = d->wait(Download::State::kPending, 0, [&] { calls++; });
  ASSERT_NE(id, 0u);
  d->unwait(id);
  d->unwait(id);  // again: ignored
  d->on_start(start(3));
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(d->wait(Download::State::kPending, 0, [&] { calls++; }), 0u);  // ran at once
  EXPECT_EQ(calls, 1);
}

TEST_F(DownloadTest, TheLastInterestDroppedWhileRunningCallsTheHook) {
  auto d = make();
  int abandoned = 0;
  d->set_abandoned_hook([&] { abandoned++; });
  {
    auto a = std::make_shared<Download::Interest>(d);
    auto b = std::make_shared<Download::Interest>(d);
    EXPECT_EQ(d->interested(), 2);
    a.reset();
    EXPECT_EQ(abandoned, 0);
  }
  EXPECT_EQ(abandoned, 1);
  EXPECT_EQ(d->interested(), 0);
}

TEST_F(DownloadTest, InterestDroppedAfterTheEndCallsNoHook) {
  auto d = make();
  int abandoned = 0;
  d->set_abandoned_hook([&] { abandoned++; });
  auto a = std::make_shared<Download::Interest>(d);
  d->finish_failed(502, "x");
  a.reset();
  EXPECT_EQ(abandoned, 0);
}

TEST_F(DownloadTest, AnInterestHeldByAnUnwaitedCallbackIsDroppedWithIt) {
  auto d = make();
  int abandoned = 0;
  d->set_abandoned_hook([&] { abandoned++; });
  auto interest = std::make_shared<Download::Interest>(d);
  uint64_t id = d->wait(Download::State::kPending, 0, [interest] {});
  interest.reset();
  EXPECT_EQ(abandoned, 0);  // the callback still holds it
  d->unwait(id);
  EXPECT_EQ(abandoned, 1);
}

}  // namespace
}  // namespace depot

#include "transfer/concurrency.h"

#include <gtest/gtest.h>

#include <functional>

namespace depot {
namespace {

using std::chrono::milliseconds;

// Feeds one 100 ms window in which `rate_at(limit)` bytes per second arrive.
void window(FakeClock& clock, ConcurrencyController& c, const std::function<double(int)>& rate_at) {
  double bytes = rate_at(c.limit()) / 10;
  for (int i = 0; i < 10; ++i) {
    clock.advance(milliseconds(10));
    c.on_bytes(static_cast<uint64_t>(bytes / 10));
  }
}

TEST(ConcurrencyController, GrowsWhileThroughputGrows) {
  FakeClock clock;
  ConcurrencyController c(clock, 8, 1, 64);
  EXPECT_EQ(c.limit(), 8);
  // Throughput proportional to the limit: the limit climbs to the maximum within a second.
  for (int i = 0; i < 10; ++i) window(clock, c, [](int limit) { return limit * 1e6; });
  EXPECT_EQ(c.limit(), 64);
}

TEST(ConcurrencyController, StepsBackWhenGrowthDoesNotPay) {
  FakeClock clock;
  ConcurrencyController c(clock, 8, 1, 64);
  // Throughput saturates at 16 and falls beyond.
  auto rate = [](int limit) { return limit <= 16 ? limit * 1e6 : 16e6 - (limit - 16) * 1e5; };
  for (int i = 0; i < 20; ++i) window(clock, c, rate);
  EXPECT_GE(c.limit(), 12);
  EXPECT_LE(c.limit(), 24);
  // It settles: the limit stays bounded over a long run with periodic probes.
  int highest = 0;
  for (int i = 0; i < 200; ++i) {
    window(clock, c, rate);
    highest = std::max(highest, c.limit());
  }
  EXPECT_LE(highest, 36);
}

TEST(ConcurrencyController, CompletedFilesCountAsThroughput) {
  FakeClock clock;
  ConcurrencyController c(clock, 8, 1, 64);
  // Small files: files per second rise with the limit even with no byte reports.
  for (int w = 0; w < 4; ++w) {
    int files = c.limit() * 5;
    for (int i = 0; i < files; ++i) {
      clock.advance(milliseconds(100) / files);
      c.on_success(0);
    }
    clock.advance(milliseconds(1));
    c.on_success(0);
  }
  EXPECT_GT(c.limit(), 8);
}

TEST(ConcurrencyController, HalvesOnOverloadOncePerBurst) {
  FakeClock clock;
  ConcurrencyController c(clock, 32, 1, 64);
  EXPECT_TRUE(c.may_start(31));
  EXPECT_FALSE(c.may_start(32));
  c.on_overload();
  EXPECT_EQ(c.limit(), 16);
  c.on_overload();  // same burst
  EXPECT_EQ(c.limit(), 16);
  clock.advance(milliseconds(600));
  c.on_overload();
  EXPECT_EQ(c.limit(), 8);
  for (int i = 0; i < 10; ++i) {
    clock.advance(milliseconds(600));
    c.on_overload();
  }
  EXPECT_EQ(c.limit(), 1);  // never below the minimum
  EXPECT_TRUE(c.may_start(0));
}

TEST(ConcurrencyController, NoGrowthRightAfterOverload) {
  FakeClock clock;
  ConcurrencyController c(clock, 16, 1, 64);
  c.on_overload();
  EXPECT_EQ(c.limit(), 8);
  for (int i = 0; i < 20; ++i) window(clock, c, [](int limit) { return limit * 1e6; });
  EXPECT_EQ(c.limit(), 8);  // 2 s < hold time
  for (int i = 0; i < 20; ++i) window(clock, c, [](int limit) { return limit * 1e6; });
  EXPECT_GT(c.limit(), 8);
}

TEST(ConcurrencyController, RetryAfterPausesNewStarts) {
  FakeClock clock;
  ConcurrencyController c(clock, 8, 1, 64);
  c.on_overload(milliseconds(1000));
  EXPECT_EQ(c.paused_until(), clock.now() + milliseconds(1000));
  EXPECT_FALSE(c.may_start(0));
  clock.advance(milliseconds(999));
  EXPECT_FALSE(c.may_start(0));
  clock.advance(milliseconds(1));
  EXPECT_TRUE(c.may_start(0));
  // A shorter later Retry-After does not shorten a pause in force.
  c.on_overload(milliseconds(5000));
  clock.advance(milliseconds(600));
  c.on_overload(milliseconds(100));
  clock.advance(milliseconds(1000));
  EXPECT_FALSE(c.may_start(0));
}

TEST(ConcurrencyController, IdleGapIsNotJudged) {
  FakeClock clock;
  ConcurrencyController c(clock, 8, 1, 64);
  window(clock, c, [](int) { return 10e6; });  // baseline at 8, grows to 12
  EXPECT_EQ(c.limit(), 12);
  clock.advance(std::chrono::seconds(60));
  c.on_bytes(1);  // a tiny rate over a long idle window would otherwise read as a drop
  EXPECT_EQ(c.limit(), 12);
}

TEST(ConcurrencyController, FixedModeNeverChanges) {
  FakeClock clock;
  ConcurrencyController c(clock, 8, 1, 64, /*fixed=*/3);
  EXPECT_EQ(c.limit(), 3);
  for (int i = 0; i < 20; ++i) window(clock, c, [](int limit) { return limit * 1e6; });
  c.on_overload();
  EXPECT_EQ(c.limit(), 3);
  EXPECT_TRUE(c.may_start(2));
  EXPECT_FALSE(c.may_start(3));
  // Retry-After is still honoured.
  c.on_overload(milliseconds(500));
  EXPECT_FALSE(c.may_start(0));
  clock.advance(milliseconds(500));
  EXPECT_TRUE(c.may_start(0));
}

TEST(ConcurrencyController, InitialIsClampedToRange) {
  FakeClock clock;
  EXPECT_EQ(ConcurrencyController(clock, 100, 1, 64).limit(), 64);
  EXPECT_EQ(ConcurrencyController(clock, 0, 2, 64).limit(), 2);
}

}  // namespace
}  // namespace depot

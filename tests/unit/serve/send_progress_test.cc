#include "serve/send_progress.h"

#include <gtest/gtest.h>

namespace depot {
namespace {

using std::chrono::seconds;

TEST(SendProgress, ASteadySlowReaderIsNeverCut) {
  FakeClock clock;
  SendProgress p(seconds(60), 256);
  p.start(clock.now(), 0);
  uint64_t taken = 0;
  for (int i = 0; i < 3600; ++i) {  // an hour at 20 KiB/s, checked every second
    clock.advance(seconds(1));
    taken += 20 * 1024;
    ASSERT_TRUE(p.ok(clock.now(), taken)) << "cut after " << i << " s";
  }
}

TEST(SendProgress, NoByteTakenForTheTimeoutIsCut) {
  FakeClock clock;
  SendProgress p(seconds(60), 0);
  p.start(clock.now(), 1000);
  clock.advance(seconds(59));
  EXPECT_TRUE(p.ok(clock.now(), 1000));
  clock.advance(seconds(1));
  EXPECT_FALSE(p.ok(clock.now(), 1000));
}

TEST(SendProgress, ATrickleBelowTheMinimumRateIsCut) {
  FakeClock clock;
  SendProgress p(seconds(60), 256);
  p.start(clock.now(), 0);
  uint64_t taken = 0;
  bool cut = false;
  for (int i = 0; i < 120 && !cut; ++i) {  // one byte every 10 s: always progress, too little
    clock.advance(seconds(10));
    cut = !p.ok(clock.now(), ++taken);
  }
  EXPECT_TRUE(cut);
}

TEST(SendProgress, EachResponseStartsAFreshWindow) {
  FakeClock clock;
  SendProgress p(seconds(60), 256);
  p.start(clock.now(), 0);
  clock.advance(seconds(50));
  EXPECT_TRUE(p.ok(clock.now(), 100));
  clock.advance(seconds(600));  // idle between responses: not judged
  p.start(clock.now(), 100);
  clock.advance(seconds(30));
  EXPECT_TRUE(p.ok(clock.now(), 100 + 30 * 300));
}

TEST(SendProgress, ADipInTheCountIsNotProgressNorRegress) {
  FakeClock clock;
  SendProgress p(seconds(60), 0);
  p.start(clock.now(), 5000);
  clock.advance(seconds(30));
  EXPECT_TRUE(p.ok(clock.now(), 4000));  // a write's queued bytes counted before the write
  clock.advance(seconds(30));
  EXPECT_FALSE(p.ok(clock.now(), 5000));  // no byte beyond 5000 in 60 s
}

}  // namespace
}  // namespace depot

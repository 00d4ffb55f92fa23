#include "site/scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace depot::site {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using Ended = Scheduler::Ended;

JobPlan plan(const std::string& name, const std::string& every, int retry = 2) {
  JobPlan p;
  p.name = name;
  p.schedule = Schedule::parse(every).value();
  p.retry = retry;
  return p;
}

class SchedulerTest : public ::testing::Test {
 protected:
  WallTime now() const { return clock.wall(); }
  std::vector<std::string> due() {
    auto d = s.take_due();
    std::sort(d.begin(), d.end());
    return d;
  }
  FakeClock clock;
  Scheduler s{clock, 2, seconds(0)};
};

TEST_F(SchedulerTest, NewJobsRunAtOnceThenOnTheirSchedule) {
  s.configure({plan("a", "6h"), plan("b", "1h")}, 2, seconds(0));
  EXPECT_EQ(due(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(s.times("a")->phase, JobPhase::kRunning);
  EXPECT_TRUE(due().empty());  // running jobs are not started twice
  clock.advance(minutes(10));
  s.finished("a", Ended::kSucceeded);
  s.finished("b", Ended::kSucceeded);
  EXPECT_EQ(*s.times("a")->next, now() + hours(6));
  EXPECT_EQ(*s.times("b")->next, now() + hours(1));
  clock.advance(hours(1) - seconds(1));
  EXPECT_TRUE(due().empty());
  clock.advance(seconds(1));
  EXPECT_EQ(due(), (std::vector<std::string>{"b"}));
}

TEST_F(SchedulerTest, ASuccessfulRunBeforeTheProcessIsFollowedOnSchedule) {
  JobPlan p = plan("a", "6h");
  p.last_ended = now() - hours(2);
  p.last_succeeded = true;
  JobPlan q = plan("b", "6h");
  q.last_ended = now() - hours(2);
  q.last_succeeded = false;  // failed or cut off: resumed at once
  s.configure({p, q}, 2, seconds(0));
  EXPECT_EQ(due(), (std::vector<std::string>{"b"}));
  EXPECT_EQ(*s.times("a")->next, now() + hours(4));
}

TEST_F(SchedulerTest, AtMostMaxConcurrentRunAndTheLongestWaitingGoesFirst) {
  s.configure({plan("a", "1h"), plan("b", "1h"), plan("c", "1h")}, 1, seconds(0));
  auto first = s.take_due();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(s.running(), 1);
  int queued = 0;
  for (const auto& n : s.names()) queued += s.times(n)->queued ? 1 : 0;
  EXPECT_EQ(queued, 2);
  clock.advance(minutes(5));
  s.finished(first[0], Ended::kSucceeded);
  auto second = s.take_due();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_NE(second[0], first[0]);
  EXPECT_EQ(s.running(), 1);
}

TEST_F(SchedulerTest, FailuresAreRetriedWithBackoffThenWaitForTheSchedule) {
  s.configure({plan("a", "1d", 3)}, 2, seconds(0));
  ASSERT_EQ(due().size(), 1u);
  std::vector<seconds> gaps;
  for (int i = 0; i < 4; ++i) {
    s.finished("a", Ended::kFailed);
    auto next = *s.times("a")->next;
    gaps.push_back(std::chrono::duration_cast<seconds>(next - now()));
    clock.advance(next - now());
    ASSERT_EQ(due().size(), 1u) << i;
  }
  EXPECT_EQ(gaps, (std::vector<seconds>{minutes(1), minutes(2), minutes(4), hours(24)}));
  EXPECT_EQ(s.times("a")->failures, 4);
  s.finished("a", Ended::kSucceeded);
  EXPECT_EQ(s.times("a")->failures, 0);
  EXPECT_EQ(*s.times("a")->next, now() + hours(24));
}

TEST_F(SchedulerTest, BackoffNeverGoesBeyondTheNextScheduledTime) {
  s.configure({plan("a", "2m", 10)}, 2, seconds(0));
  ASSERT_EQ(due().size(), 1u);
  s.finished("a", Ended::kFailed);  // 1 min
  clock.advance(minutes(1));
  ASSERT_EQ(due().size(), 1u);
  s.finished("a", Ended::kFailed);  // 2 min = the schedule
  EXPECT_EQ(*s.times("a")->next, now() + minutes(2));
  clock.advance(minutes(2));
  ASSERT_EQ(due().size(), 1u);
  s.finished("a", Ended::kFailed);  // retries start over after a scheduled run
  EXPECT_EQ(*s.times("a")->next, now() + minutes(1));
}

TEST_F(SchedulerTest, JitterDelaysEachRunByARandomPart) {
  clock.set_random(0.25);
  s.configure({plan("a", "1h")}, 2, seconds(400));
  EXPECT_TRUE(due().empty());  // the first run too is jittered: 100 s
  clock.advance(seconds(99));
  EXPECT_TRUE(due().empty());
  clock.advance(seconds(1));
  ASSERT_EQ(due().size(), 1u);
  s.finished("a", Ended::kSucceeded);
  EXPECT_EQ(*s.times("a")->next, now() + hours(1) + seconds(100));
}

TEST_F(SchedulerTest, CancelledRunsAreNotRetried) {
  s.configure({plan("a", "1h")}, 2, seconds(0));
  ASSERT_EQ(due().size(), 1u);
  s.finished("a", Ended::kCancelled);
  EXPECT_EQ(*s.times("a")->next, now() + hours(1));
  EXPECT_EQ(s.times("a")->failures, 0);
}

TEST_F(SchedulerTest, ReloadAddsRemovesAndKeepsJobs) {
  s.configure({plan("a", "1h"), plan("b", "1h")}, 2, seconds(0));
  ASSERT_EQ(due().size(), 2u);
  s.finished("a", Ended::kSucceeded);
  WallTime a_next = *s.times("a")->next;
  clock.advance(minutes(5));
  // b is running and removed; c is new; a keeps its time.
  s.configure({plan("a", "1h"), plan("c", "1h")}, 2, seconds(0));
  EXPECT_EQ(*s.times("a")->next, a_next);
  auto names = s.names();
  EXPECT_EQ(std::find(names.begin(), names.end(), "b"), names.end());
  EXPECT_EQ(s.running(), 1);  // b's run goes on until it ends
  EXPECT_EQ(due(), (std::vector<std::string>{"c"}));
  s.finished("b", Ended::kCancelled);
  EXPECT_FALSE(s.times("b").has_value());
  EXPECT_EQ(s.running(), 1);
  // A changed schedule is followed from now.
  s.configure({plan("a", "30m"), plan("c", "1h")}, 2, seconds(0));
  EXPECT_EQ(*s.times("a")->next, now() + minutes(30));
}

TEST_F(SchedulerTest, PauseStartDisableEnable) {
  s.configure({plan("a", "1h")}, 2, seconds(0));
  ASSERT_EQ(due().size(), 1u);
  EXPECT_FALSE(s.start("a"));  // running
  s.finished("a", Ended::kSucceeded);
  EXPECT_TRUE(s.pause("a"));
  EXPECT_EQ(s.times("a")->phase, JobPhase::kPaused);
  clock.advance(hours(5));
  EXPECT_TRUE(due().empty());
  EXPECT_TRUE(s.start("a"));
  EXPECT_EQ(due(), (std::vector<std::string>{"a"}));
  s.finished("a", Ended::kSucceeded);
  EXPECT_TRUE(s.set_enabled("a", false));
  EXPECT_EQ(s.times("a")->phase, JobPhase::kDisabled);
  EXPECT_FALSE(s.start("a"));
  clock.advance(hours(5));
  EXPECT_TRUE(due().empty());
  // Enabled again: as at a start, its schedule's next time after its last run, here overdue.
  EXPECT_TRUE(s.set_enabled("a", true));
  EXPECT_EQ(*s.times("a")->next, now() - hours(4));
  EXPECT_EQ(due(), (std::vector<std::string>{"a"}));
  s.finished("a", Ended::kSucceeded);
  EXPECT_TRUE(s.set_enabled("a", false));
  clock.advance(minutes(10));
  EXPECT_TRUE(s.set_enabled("a", true));  // ran 10 minutes ago: in 50
  EXPECT_EQ(*s.times("a")->next, now() + minutes(50));
  EXPECT_FALSE(s.start("nope"));
  EXPECT_FALSE(s.pause("nope"));
}

TEST_F(SchedulerTest, AJobThatNeverRanRunsWhenEnabled) {
  JobPlan p = plan("a", "0 3 * * *");
  p.enabled = false;
  s.configure({p}, 2, seconds(0));
  clock.advance(hours(1));
  EXPECT_TRUE(due().empty());
  EXPECT_TRUE(s.set_enabled("a", true));
  EXPECT_EQ(due(), (std::vector<std::string>{"a"}));
}

}  // namespace
}  // namespace depot::site

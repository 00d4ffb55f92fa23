#include "pool/job_queue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <latch>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include "db/sqlite.h"
#include "support/temp_dir.h"

namespace depot::pool {
namespace {

using depot::testing::TempDir;
using namespace std::chrono_literals;

// Synchronization for handlers. The long timeouts only turn a bug into a failure instead of a
// hang; in a passing run nothing waits for them.
constexpr auto kGuard = 60s;

class Gate {
 public:
  void open() {
    {
      std::lock_guard lk(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  bool wait() {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, kGuard, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// Every party arrives, then all go on; false when the others never came.
class Rendezvous {
 public:
  explicit Rendezvous(int parties) : parties_(parties) {}
  bool arrive_and_wait() {
    std::unique_lock lk(mu_);
    ++arrived_;
    cv_.notify_all();
    return cv_.wait_for(lk, kGuard, [&] { return arrived_ >= parties_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int parties_;
  int arrived_ = 0;
};

class JobQueueTest : public ::testing::Test {
 protected:
  std::unique_ptr<JobQueue> open(unsigned workers = 2) {
    auto q = JobQueue::open(path(), workers, logger_);
    EXPECT_TRUE(q.ok()) << q.error().to_string();
    return q.ok() ? std::move(*q) : nullptr;
  }
  std::filesystem::path path() const { return dir_.path() / "jobs.db"; }
  int64_t submit(JobQueue& q, std::string_view kind, std::string_view args = "{}") {
    auto id = q.submit(kind, args);
    EXPECT_TRUE(id.ok()) << id.error().to_string();
    return id.ok() ? *id : -1;
  }
  Job finished(JobQueue& q, int64_t id) {
    auto j = q.wait(id, kGuard);
    EXPECT_TRUE(j.ok()) << j.error().to_string();
    if (!j.ok()) return {};
    EXPECT_TRUE(j->finished()) << "job " << id << " is " << job_state_name(j->state);
    return *j;
  }
  // Registers `kind` on the mutation lane: each job opens `entered`, waits for `release` and
  // answers `answer`.
  void register_gated(JobQueue& q, std::string kind, Gate& entered, Gate& release,
                      std::string answer) {
    auto handler = [&entered, &release, answer](const Job&) {
      entered.open();
      release.wait();
      return Result<std::string>(answer);
    };
    ASSERT_TRUE(q.register_handler(kind, JobLane::kMutation, handler).ok());
  }
  Job get(JobQueue& q, int64_t id) {
    auto j = q.get(id);
    EXPECT_TRUE(j.ok()) << j.error().to_string();
    return j.ok() ? *j : Job{};
  }
  // Rewrites rows behind the queue's back, as a crash or an older daemon would leave them.
  void poke(const std::string& sql) {
    auto c = db::Connection::open(path());
    ASSERT_TRUE(c.ok()) << c.error().to_string();
    auto st = c->exec(sql);
    ASSERT_TRUE(st.ok()) << st.error().to_string();
  }

  TempDir dir_;
  Logger logger_{LogLevel::kOff};
};

Result<std::string> ok_handler(const Job&) { return std::string("ok"); }

TEST_F(JobQueueTest, MutationLaneRunsOneAtATimeInSubmissionOrder) {
  std::mutex mu;
  std::vector<int64_t> ran;
  std::atomic<int> in_flight{0}, max_in_flight{0};
  auto q = open(2);
  ASSERT_TRUE(q->register_handler("m", JobLane::kMutation, [&](const Job& j) {
                 int now = ++in_flight;
                 int prev = max_in_flight.load();
                 while (now > prev && !max_in_flight.compare_exchange_weak(prev, now)) {
                 }
                 std::this_thread::yield();  // widen the window an overlap would need
                 {
                   std::lock_guard lk(mu);
                   ran.push_back(j.id);
                 }
                 --in_flight;
                 return Result<std::string>(std::string("ok"));
               }).ok());
  ASSERT_TRUE(q->start().ok());

  constexpr int kThreads = 4, kPerThread = 25;
  std::vector<std::vector<int64_t>> ids(kThreads);
  std::latch go(kThreads);
  std::vector<std::thread> submitters;
  for (int t = 0; t < kThreads; ++t) {
    submitters.emplace_back([&, t] {
      go.arrive_and_wait();
      for (int i = 0; i < kPerThread; ++i) {
        ids[t].push_back(submit(*q, "m", R"({"i":)" + std::to_string(i) + "}"));
      }
    });
  }
  for (auto& th : submitters) th.join();
  std::vector<int64_t> all;
  for (const auto& v : ids) {
    EXPECT_TRUE(std::is_sorted(v.begin(), v.end()));
    all.insert(all.end(), v.begin(), v.end());
  }
  for (int64_t id : all) EXPECT_EQ(finished(*q, id).state, JobState::kDone);
  std::sort(all.begin(), all.end());
  std::lock_guard lk(mu);
  EXPECT_EQ(ran, all);  // ids are handed out in submission order
  EXPECT_EQ(max_in_flight.load(), 1);
}

TEST_F(JobQueueTest, WorkerLaneRunsJobsInParallel) {
  Rendezvous both(2);
  auto q = open(2);
  ASSERT_TRUE(q->register_handler("hash", JobLane::kWorker, [&](const Job&) -> Result<std::string> {
                 if (!both.arrive_and_wait()) {
                   return make_error(ErrorCode::kInternal, "the other worker never ran");
                 }
                 return std::string("hashed");
               }).ok());
  ASSERT_TRUE(q->start().ok());
  int64_t a = submit(*q, "hash"), b = submit(*q, "hash");
  Job ja = finished(*q, a), jb = finished(*q, b);
  EXPECT_EQ(ja.state, JobState::kDone) << ja.message;
  EXPECT_EQ(jb.state, JobState::kDone) << jb.message;
  EXPECT_EQ(ja.message, "hashed");
}

TEST_F(JobQueueTest, WorkersRunWhileTheMutationLaneIsBusy) {
  Gate worker_ran;
  auto q = open(1);
  ASSERT_TRUE(q->register_handler("publish", JobLane::kMutation,
                                  [&](const Job&) -> Result<std::string> {
                                    if (!worker_ran.wait()) {
                                      return make_error(ErrorCode::kInternal, "worker blocked");
                                    }
                                    return std::string("published");
                                  })
                  .ok());
  ASSERT_TRUE(q->register_handler("compress", JobLane::kWorker, [&](const Job&) {
                 worker_ran.open();
                 return Result<std::string>(std::string("compressed"));
               }).ok());
  ASSERT_TRUE(q->start().ok());
  int64_t m = submit(*q, "publish");
  int64_t w = submit(*q, "compress");
  EXPECT_EQ(finished(*q, w).state, JobState::kDone);
  Job jm = finished(*q, m);
  EXPECT_EQ(jm.state, JobState::kDone) << jm.message;
}

TEST_F(JobQueueTest, QueuedJobsRunAfterRestart) {
  std::vector<int64_t> ids;
  {
    auto q = open();
    ASSERT_TRUE(q->register_handler("import", JobLane::kMutation, ok_handler).ok());
    for (int i = 0; i < 3; ++i) ids.push_back(submit(*q, "import", R"({"file":"a.deb"})"));
    EXPECT_EQ(get(*q, ids[0]).state, JobState::kQueued);  // never started
  }
  std::vector<int64_t> ran;
  auto q = open();
  ASSERT_TRUE(q->register_handler("import", JobLane::kMutation, [&](const Job& j) {
                 ran.push_back(j.id);  // one lane thread: no lock needed until wait()
                 EXPECT_EQ(j.args, R"({"file":"a.deb"})");
                 return Result<std::string>(std::string("imported"));
               }).ok());
  ASSERT_TRUE(q->start().ok());
  for (int64_t id : ids) {
    Job j = finished(*q, id);
    EXPECT_EQ(j.state, JobState::kDone);
    EXPECT_EQ(j.message, "imported");
    EXPECT_EQ(j.attempts, 1);
    ASSERT_TRUE(j.started_ms && j.finished_ms);
    EXPECT_GE(*j.finished_ms, *j.started_ms);
    EXPECT_GE(*j.started_ms, j.created_ms);
  }
  EXPECT_EQ(ran, ids);
}

TEST_F(JobQueueTest, JobRunningAtACrashRunsAgain) {
  int64_t m, w;
  {
    auto q = open();
    ASSERT_TRUE(q->register_handler("publish", JobLane::kMutation, ok_handler).ok());
    ASSERT_TRUE(q->register_handler("xz", JobLane::kWorker, ok_handler).ok());
    m = submit(*q, "publish");
    w = submit(*q, "xz");
  }
  poke("UPDATE jobs SET state = 'running', started_ms = 1, attempts = 1");

  std::atomic<int> runs{0};
  auto q = open();
  Job before = get(*q, m);
  EXPECT_EQ(before.state, JobState::kQueued);
  EXPECT_FALSE(before.started_ms);
  EXPECT_EQ(get(*q, w).state, JobState::kQueued);
  auto count = [&](const Job&) {
    ++runs;
    return Result<std::string>(std::string("again"));
  };
  ASSERT_TRUE(q->register_handler("publish", JobLane::kMutation, count).ok());
  ASSERT_TRUE(q->register_handler("xz", JobLane::kWorker, count).ok());
  ASSERT_TRUE(q->start().ok());
  for (int64_t id : {m, w}) {
    Job j = finished(*q, id);
    EXPECT_EQ(j.state, JobState::kDone);
    EXPECT_EQ(j.attempts, 2);
  }
  EXPECT_EQ(runs.load(), 2);
}

TEST_F(JobQueueTest, FailedJobsKeepTheirMessageAndTheLaneGoesOn) {
  int64_t fail, boom, good, orphan;
  {
    // A job of a kind this daemon no longer knows, left in the database.
    auto old = open();
    ASSERT_TRUE(old->register_handler("legacy", JobLane::kMutation, ok_handler).ok());
    orphan = submit(*old, "legacy");
  }
  {
    auto q = open();
    ASSERT_TRUE(q->register_handler("fail", JobLane::kMutation, [](const Job&) {
                   return Result<std::string>(
                       make_error(ErrorCode::kRefused, "repo stable: exists"));
                 }).ok());
    ASSERT_TRUE(q->register_handler("throw", JobLane::kMutation,
                                    [](const Job&) -> Result<std::string> {
                                      throw std::runtime_error("boom");
                                    })
                    .ok());
    ASSERT_TRUE(q->register_handler("good", JobLane::kMutation, ok_handler).ok());
    ASSERT_TRUE(q->start().ok());
    fail = submit(*q, "fail");
    boom = submit(*q, "throw");
    good = submit(*q, "good");
    EXPECT_EQ(finished(*q, good).state, JobState::kDone);
  }
  auto q = open();  // the outcome is persisted
  Job jf = get(*q, fail), jb = get(*q, boom), jo = get(*q, orphan);
  EXPECT_EQ(jf.state, JobState::kFailed);
  EXPECT_NE(jf.message.find("repo stable: exists"), std::string::npos) << jf.message;
  EXPECT_EQ(jb.state, JobState::kFailed);
  EXPECT_NE(jb.message.find("boom"), std::string::npos) << jb.message;
  EXPECT_EQ(jo.state, JobState::kFailed);
  EXPECT_NE(jo.message.find("no handler"), std::string::npos) << jo.message;
  ASSERT_TRUE(jf.finished_ms);
  EXPECT_GE(jf.duration_ms(0), 0);
}

TEST_F(JobQueueTest, WaitReturnsTheCurrentStateAfterItsTimeout) {
  Gate entered, release;
  auto q = open();
  register_gated(*q, "slow", entered, release, "slow done");
  int64_t id = submit(*q, "slow");
  auto j = q->wait(id, 10ms);  // not started yet
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->state, JobState::kQueued);

  ASSERT_TRUE(q->start().ok());
  ASSERT_TRUE(entered.wait());
  j = q->wait(id, 10ms);
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->state, JobState::kRunning);
  EXPECT_FALSE(j->finished());
  EXPECT_GE(j->duration_ms(*j->started_ms + 5), 5);

  release.open();
  j = q->wait(id, std::chrono::milliseconds::max());
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->state, JobState::kDone);
  EXPECT_EQ(j->message, "slow done");

  auto missing = q->wait(id + 100, 10ms);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

// when_finished: the callback runs once, when the job ends, on the lane that ended it; at once
// for a finished job or an unknown id; at a stop for a job that has not finished.
TEST_F(JobQueueTest, WhenFinishedCallsBackOnceTheJobEnds) {
  Gate entered, release;
  auto q = open();
  register_gated(*q, "slow", entered, release, "slow done");
  ASSERT_TRUE(q->start().ok());
  int64_t id = submit(*q, "slow");
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Result<Job>> seen;
  std::thread::id caller;
  q->when_finished(id, [&](Result<Job> j) {
    std::lock_guard lk(mu);
    seen.push_back(std::move(j));
    caller = std::this_thread::get_id();
    cv.notify_all();
  });
  ASSERT_TRUE(entered.wait());
  {
    std::lock_guard lk(mu);
    EXPECT_TRUE(seen.empty());  // running, not finished
  }
  release.open();
  {
    std::unique_lock lk(mu);
    ASSERT_TRUE(cv.wait_for(lk, kGuard, [&] { return !seen.empty(); }));
    ASSERT_TRUE(seen[0].ok());
    EXPECT_EQ(seen[0]->state, JobState::kDone);
    EXPECT_EQ(seen[0]->message, "slow done");
    EXPECT_NE(caller, std::this_thread::get_id());
  }

  bool at_once = false;
  q->when_finished(id, [&](Result<Job> j) { at_once = j.ok() && j->state == JobState::kDone; });
  EXPECT_TRUE(at_once);
  bool missing = false;
  q->when_finished(id + 100, [&](Result<Job> j) {
    missing = !j.ok() && j.error().code == ErrorCode::kNotFound;
  });
  EXPECT_TRUE(missing);

  auto idle = JobQueue::open(dir_.path() / "idle.db", 1, logger_);  // never started
  ASSERT_TRUE(idle.ok());
  ASSERT_TRUE((*idle)->register_handler("slow", JobLane::kMutation, ok_handler).ok());
  int64_t queued = submit(**idle, "slow");
  std::optional<JobState> at_stop;
  (*idle)->when_finished(queued, [&](Result<Job> j) {
    if (j.ok()) at_stop = j->state;
  });
  EXPECT_FALSE(at_stop);
  (*idle)->request_stop();
  EXPECT_EQ(at_stop, JobState::kQueued);
  std::lock_guard lk(mu);
  EXPECT_EQ(seen.size(), 1u);  // once only
}

TEST_F(JobQueueTest, ListFiltersByStateLaneAndKind) {
  auto q = open();
  ASSERT_TRUE(q->register_handler("import", JobLane::kMutation, ok_handler).ok());
  ASSERT_TRUE(q->register_handler("bad", JobLane::kMutation, [](const Job&) {
                 return Result<std::string>(make_error(ErrorCode::kParse, "truncated"));
               }).ok());
  ASSERT_TRUE(q->register_handler("xz", JobLane::kWorker, ok_handler).ok());
  ASSERT_TRUE(q->start().ok());
  int64_t i1 = submit(*q, "import"), i2 = submit(*q, "import"), b = submit(*q, "bad");
  finished(*q, i1);
  finished(*q, i2);
  finished(*q, b);
  q->stop();
  int64_t x1 = submit(*q, "xz"), x2 = submit(*q, "xz");  // stay queued

  auto ids = [](const Result<std::vector<Job>>& r) {
    std::vector<int64_t> out;
    EXPECT_TRUE(r.ok());
    if (r.ok()) {
      for (const auto& j : *r) out.push_back(j.id);
    }
    return out;
  };
  using V = std::vector<int64_t>;
  EXPECT_EQ(ids(q->list()), (V{x2, x1, b, i2, i1}));
  EXPECT_EQ(ids(q->list({}, 2)), (V{x2, x1}));
  EXPECT_EQ(ids(q->list({.state = JobState::kFailed})), (V{b}));
  EXPECT_EQ(ids(q->list({.state = JobState::kQueued})), (V{x2, x1}));
  EXPECT_EQ(ids(q->list({.lane = JobLane::kWorker})), (V{x2, x1}));
  EXPECT_EQ(ids(q->list({.kind = "import"})), (V{i2, i1}));
  EXPECT_EQ(ids(q->list({.state = JobState::kDone, .lane = JobLane::kMutation})), (V{i2, i1}));
  EXPECT_EQ(ids(q->list({.state = JobState::kRunning})), V{});
  auto failed = q->list({.state = JobState::kFailed});
  ASSERT_TRUE(failed.ok() && failed->size() == 1);
  EXPECT_EQ((*failed)[0].kind, "bad");
  EXPECT_EQ((*failed)[0].lane, JobLane::kMutation);
  EXPECT_NE((*failed)[0].message.find("truncated"), std::string::npos);
}

TEST_F(JobQueueTest, PruneDeletesOnlyJobsThatFinishedLongAgo) {
  FakeClock clock;
  auto opened = JobQueue::open(path(), 1, logger_, clock);
  ASSERT_TRUE(opened.ok());
  auto& q = *opened;
  ASSERT_TRUE(q->register_handler("import", JobLane::kMutation, ok_handler).ok());
  ASSERT_TRUE(q->register_handler("bad", JobLane::kMutation, [](const Job&) {
                 return Result<std::string>(make_error(ErrorCode::kParse, "truncated"));
               }).ok());
  ASSERT_TRUE(q->start().ok());
  int64_t old_done = submit(*q, "import"), old_failed = submit(*q, "bad");
  finished(*q, old_done);
  finished(*q, old_failed);
  clock.advance(std::chrono::hours(48));
  int64_t recent = submit(*q, "import");
  finished(*q, recent);
  q->stop();
  int64_t queued = submit(*q, "import");  // never finishes: stays
  auto pruned = q->prune(std::chrono::hours(24));
  ASSERT_TRUE(pruned.ok()) << pruned.error().to_string();
  EXPECT_EQ(*pruned, 2u);
  auto left = q->list();
  ASSERT_TRUE(left.ok());
  std::vector<int64_t> ids;
  for (const Job& j : *left) ids.push_back(j.id);
  EXPECT_EQ(ids, (std::vector<int64_t>{queued, recent}));
  EXPECT_EQ(*q->prune(std::chrono::hours(24)), 0u);
}

TEST_F(JobQueueTest, StopLetsTheRunningJobFinishAndLeavesQueuedJobsQueued) {
  Gate entered, release;
  std::vector<int64_t> ids;
  {
    auto q = open();
    register_gated(*q, "import", entered, release, "imported");
    ASSERT_TRUE(q->start().ok());
    for (int i = 0; i < 3; ++i) ids.push_back(submit(*q, "import"));
    ASSERT_TRUE(entered.wait());  // the first job is running
    q->request_stop();
    release.open();
    q->stop();
    EXPECT_EQ(get(*q, ids[0]).state, JobState::kDone);
    EXPECT_EQ(get(*q, ids[1]).state, JobState::kQueued);
    EXPECT_EQ(get(*q, ids[2]).state, JobState::kQueued);
    EXPECT_EQ(q->start().error().code, ErrorCode::kRefused);
    auto j = q->wait(ids[1], kGuard);  // returns at once: the queue is stopped
    ASSERT_TRUE(j.ok());
    EXPECT_EQ(j->state, JobState::kQueued);
  }
  auto q = open();
  ASSERT_TRUE(q->register_handler("import", JobLane::kMutation, ok_handler).ok());
  ASSERT_TRUE(q->start().ok());
  EXPECT_EQ(finished(*q, ids[1]).state, JobState::kDone);
  EXPECT_EQ(finished(*q, ids[2]).state, JobState::kDone);
  EXPECT_EQ(get(*q, ids[0]).attempts, 1);
}

TEST_F(JobQueueTest, RefusesBadSubmissionsAndRegistrations) {
  EXPECT_FALSE(JobQueue::open(path(), 0, logger_).ok());
  auto q = open();
  ASSERT_TRUE(q->register_handler("import", JobLane::kMutation, ok_handler).ok());
  EXPECT_EQ(q->register_handler("import", JobLane::kWorker, ok_handler).error().code,
            ErrorCode::kRefused);
  EXPECT_EQ(q->submit("nope", "{}").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(q->submit("import", "{not json").error().code, ErrorCode::kInvalidArgument);
  ASSERT_TRUE(q->start().ok());
  EXPECT_EQ(q->register_handler("late", JobLane::kWorker, ok_handler).error().code,
            ErrorCode::kRefused);
  EXPECT_EQ(q->get(12345).error().code, ErrorCode::kNotFound);
  auto all = q->list();
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());
}

TEST_F(JobQueueTest, NamesRoundTrip) {
  for (JobState s : {JobState::kQueued, JobState::kRunning, JobState::kDone, JobState::kFailed}) {
    EXPECT_EQ(parse_job_state(job_state_name(s)), s);
  }
  for (JobLane l : {JobLane::kMutation, JobLane::kWorker}) {
    EXPECT_EQ(parse_job_lane(job_lane_name(l)), l);
  }
  EXPECT_FALSE(parse_job_state("paused"));
  EXPECT_FALSE(parse_job_lane("fast"));
}

}  // namespace
}  // namespace depot::pool

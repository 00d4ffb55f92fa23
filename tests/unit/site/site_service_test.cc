#include "site/site_service.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <fstream>
#include <set>

#include "core/file_io.h"
#include "support/temp_dir.h"

namespace depot::site {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using testing::TempDir;

// Runs by job name: "ok" succeeds, "bad" fails, "slow" waits until released or cancelled,
// "flaky" succeeds once and then fails.
class ScriptedRunner final : public JobRunner {
 public:
  RunOutcome run(const JobConfig& job, const std::shared_ptr<std::atomic<bool>>& cancel,
                 Logger& log, const std::function<void(const RunProgress&)>& progress) override {
    log.info("scripted.run", {{"job", job.name}});
    RunOutcome o;
    if (job.name.starts_with("slow")) progress({"download", 1, 4, 100});
    {
      std::lock_guard lock(mu_);
      started_.push_back(job.name + (job.engine.force ? " forced" : ""));
      cv_.notify_all();
    }
    if (job.name.starts_with("slow")) {
      std::unique_lock lock(mu_);
      while (!released_ && !cancel->load()) cv_.wait_for(lock, std::chrono::milliseconds(5));
      if (cancel->load()) {
        o.exit_code = 1;
        o.error = "cancelled";
        o.cancelled = true;
        return o;
      }
    }
    bool flaky_failure = false;
    if (job.name.starts_with("flaky")) {
      std::lock_guard lock(mu_);
      flaky_failure = ++flaky_runs_ > 1;
    }
    if (job.name.starts_with("bad") || flaky_failure) {
      o.exit_code = 3;
      o.error = "http://user:tok3n@up.example/dists/x/InRelease: 500 Internal Server Error";
      return o;
    }
    o.files = 2;
    o.bytes = 2048;
    o.total_files = 5;
    o.total_bytes = 1 << 20;
    return o;
  }
  void release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  // Waits until `n` runs have started (and reported their first progress).
  void wait_started(size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return started_.size() >= n; });
  }
  std::vector<std::string> started() {
    std::lock_guard lock(mu_);
    return started_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
  int flaky_runs_ = 0;
  std::vector<std::string> started_;
};

class SiteServiceTest : public ::testing::Test {
 protected:
  SiteConfig config(const std::vector<std::string>& names) {
    SiteConfig c;
    c.file = dir.path() / "depot.toml";
    c.data_root = dir.path() / "data";
    c.state_dir = dir.path() / "state";
    c.log_dir = dir.path() / "logs";
    c.max_concurrent = 2;
    for (const auto& n : names) {
      JobConfig j;
      j.name = n;
      j.registry = "conda";
      j.upstream = "http://up.example/" + n;
      j.dest = (c.data_root / n).string();
      j.schedule = Schedule::parse("1h").value();
      j.retry = 0;
      c.jobs.push_back(j);
    }
    return c;
  }
  std::unique_ptr<SiteService> open(const SiteConfig& c) {
    auto s = SiteService::open(c, runner, clock, null_logger());
    EXPECT_TRUE(s.ok()) << s.error().message;
    return std::move(*s);
  }
  static JobStatus of(const std::vector<JobStatus>& all, const std::string& name) {
    for (const auto& s : all) {
      if (s.name == name) return s;
    }
    ADD_FAILURE() << "no job " << name;
    return {};
  }

  TempDir dir;
  FakeClock clock;
  ScriptedRunner runner;
};

TEST_F(SiteServiceTest, StatusFollowsRunsAsTheyHappen) {
  auto svc = open(config({"ok", "bad", "slow"}));
  auto before = svc->snapshot();
  EXPECT_EQ(of(before, "ok").status, "none");
  svc->tick();  // two start at once; the third waits for a slot
  auto during = svc->snapshot();
  int syncing = 0, queued = 0;
  for (const auto& s : during) {
    syncing += s.status == "syncing";
    queued += s.queued;
  }
  EXPECT_EQ(queued, 1);  // the one beyond max_concurrent, until the next pass
  EXPECT_LE(syncing, 2);
  runner.release();
  for (int i = 0; i < 3; ++i) {
    svc->wait_idle();
    clock.advance(std::chrono::seconds(1));
    svc->tick();
  }
  svc->wait_idle();
  auto after = svc->snapshot();
  EXPECT_EQ(of(after, "ok").status, "success");
  EXPECT_EQ(of(after, "ok").last_good->total_bytes, 1u << 20);
  EXPECT_EQ(of(after, "slow").status, "success");
  JobStatus bad = of(after, "bad");
  EXPECT_EQ(bad.status, "failed");
  EXPECT_EQ(bad.last->exit_code, 3);
  EXPECT_NE(bad.last->error.find("InRelease: 500"), std::string::npos);
  EXPECT_FALSE(bad.last_update.has_value());
  EXPECT_EQ(*of(after, "ok").next_schedule, *of(after, "ok").last_started + hours(1));
  EXPECT_EQ(of(after, "ok").runs_total.at("success"), 1u);
}

TEST_F(SiteServiceTest, StopCancelsRunsAndTheNextStartResumesThem) {
  {
    auto svc = open(config({"slow"}));
    svc->tick();
    runner.wait_started(1);
    ASSERT_EQ(of(svc->snapshot(), "slow").status, "syncing");
    EXPECT_EQ(of(svc->snapshot(), "slow").progress_files_total, 4u);
    svc->stop();
    JobStatus s = of(svc->snapshot(), "slow");
    EXPECT_EQ(s.last->result, "cancelled");
    EXPECT_NE(s.last->error.find("stopping"), std::string::npos);
  }
  auto svc = open(config({"slow"}));
  svc->tick();  // a run that did not succeed is resumed at once
  runner.wait_started(2);
  runner.release();
  svc->wait_idle();
  EXPECT_EQ(of(svc->snapshot(), "slow").status, "success");
  EXPECT_EQ(of(svc->snapshot(), "slow").runs.size(), 2u);
}

TEST_F(SiteServiceTest, ReloadAddsAndRemovesJobs) {
  auto svc = open(config({"ok", "slow"}));
  svc->tick();
  SiteConfig moved = config({"ok"});
  moved.data_root = "/elsewhere";
  EXPECT_EQ(svc->reload(moved).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(svc->job_count(), 2u);
  ASSERT_TRUE(svc->reload(config({"ok", "ok2"})).ok());  // slow is removed while running
  svc->wait_idle();
  svc->tick();
  svc->wait_idle();
  std::set<std::string> names;
  for (const auto& s : svc->snapshot()) names.insert(s.name);
  EXPECT_EQ(names, (std::set<std::string>{"ok", "ok2"}));
  auto started = runner.started();
  EXPECT_EQ(std::count(started.begin(), started.end(), "ok2"), 1);
  EXPECT_EQ(std::count(started.begin(), started.end(), "ok"), 1);  // kept its time
}

TEST_F(SiteServiceTest, ControlStartsStopsDisablesAndEnables) {
  auto svc = open(config({"ok", "slow"}));
  auto runs_of = [&](const std::string& name) {
    auto s = runner.started();
    return std::count(s.begin(), s.end(), name);
  };
  svc->tick();                                                                 // both start
  EXPECT_EQ(svc->control("start", "slow").error().code, ErrorCode::kRefused);  // running
  ASSERT_TRUE(svc->control("stop", "slow").ok());
  svc->wait_idle();
  EXPECT_EQ(of(svc->snapshot(), "slow").status, "paused");
  clock.advance(hours(3));
  svc->tick();
  svc->wait_idle();
  EXPECT_EQ(runs_of("slow"), 1);  // paused: not run on schedule
  EXPECT_EQ(runs_of("ok"), 2);
  ASSERT_TRUE(svc->control("disable", "ok").ok());
  EXPECT_EQ(of(svc->snapshot(), "ok").status, "disabled");
  EXPECT_EQ(svc->control("start", "ok").error().code, ErrorCode::kRefused);
  clock.advance(hours(3));
  svc->tick();
  svc->wait_idle();
  EXPECT_EQ(runs_of("ok"), 2);
  runner.release();
  ASSERT_TRUE(svc->control("start", "slow").ok());
  svc->tick();
  svc->wait_idle();
  EXPECT_EQ(of(svc->snapshot(), "slow").status, "success");
  EXPECT_EQ(svc->control("start", "nope").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(svc->control("frobnicate", "ok").error().code, ErrorCode::kInvalidArgument);
  svc.reset();
  svc = open(config({"ok", "slow"}));  // disabled across restarts
  EXPECT_EQ(of(svc->snapshot(), "ok").status, "disabled");
  ASSERT_TRUE(svc->control("enable", "ok").ok());
  EXPECT_NE(of(svc->snapshot(), "ok").status, "disabled");
}

TEST_F(SiteServiceTest, HooksSeeTheRunInTheirEnvironmentAndLogsAreKept) {
  SiteConfig c = config({"ok", "bad"});
  std::string out = (dir.path() / "hook.out").string();
  c.jobs[0].exec_on_success = {
      "echo \"$DEPOT_JOB_NAME $DEPOT_JOB_RESULT $DEPOT_JOB_SIZE $TUNASYNC_JOB_EXIT_STATUS\" >> " +
      out};
  c.jobs[1].exec_on_failure = {"echo \"$DEPOT_JOB_NAME $DEPOT_JOB_RESULT $DEPOT_JOB_EXIT_CODE "
                               "$TUNASYNC_JOB_EXIT_STATUS $TUNASYNC_LOG_FILE "
                               "notify=$NOTIFY_SOCKET\" >> " + out};
  c.jobs[1].exec_on_success = {"echo wrong >> " + out};
  ::setenv("NOTIFY_SOCKET", "/run/systemd/notify", 1);  // depot's own, never a hook's
  auto svc = open(c);
  svc->tick();
  svc->wait_idle();
  ::unsetenv("NOTIFY_SOCKET");
  auto text = read_whole_file(out, out);
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->find("ok success 1048576 success\n"), std::string::npos) << *text;
  EXPECT_NE(text->find("bad failed 3 failure " + (c.log_dir / "bad.log").string() + " notify=\n"),
            std::string::npos) << *text;
  EXPECT_EQ(text->find("wrong"), std::string::npos);
  auto log = svc->log_tail("ok", 4096);
  ASSERT_TRUE(log.ok()) << log.error().message;
  EXPECT_NE(log->find("scripted.run"), std::string::npos) << *log;
  EXPECT_EQ(svc->log_tail("nope", 10).error().code, ErrorCode::kNotFound);
}

TEST_F(SiteServiceTest, AFailedRunsHookSeesTheSizeOfTheTreeStillServed) {
  SiteConfig c = config({"flaky"});
  std::string out = (dir.path() / "hook.out").string();
  c.jobs[0].exec_on_failure = {"echo \"$DEPOT_JOB_RESULT $DEPOT_JOB_SIZE\" >> " + out};
  auto svc = open(c);
  svc->tick();
  svc->wait_idle();
  ASSERT_TRUE(svc->control("start", "flaky").ok());
  svc->tick();
  svc->wait_idle();
  auto text = read_whole_file(out, out);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "failed 1048576\n");
}

TEST_F(SiteServiceTest, CredentialsInUpstreamsReachNoLogNorHistory) {
  SiteConfig c = config({"bad"});
  c.jobs[0].upstream = "http://user:tok3n@up.example/bad";
  {
    auto svc = open(c);
    svc->tick();
    svc->wait_idle();
    auto log = svc->log_tail("bad", 1 << 16);
    ASSERT_TRUE(log.ok());
    EXPECT_EQ(log->find("tok3n"), std::string::npos) << *log;
    EXPECT_NE(log->find("up.example"), std::string::npos) << *log;
    EXPECT_EQ(of(svc->snapshot(), "bad").last->error.find("tok3n"), std::string::npos);
  }
  auto history = read_whole_file(c.state_dir / "history.db", "history.db");
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->find("tok3n"), std::string::npos) << "the history keeps the credentials";
}

TEST_F(SiteServiceTest, AStopEndsARunningHookAndWhatItStarted) {
  SiteConfig c = config({"ok"});
  const auto started = dir.path() / "hook.started";
  c.jobs[0].exec_on_success = {"touch " + started.string() + "; sleep 60 & sleep 60"};
  auto svc = open(c);
  svc->tick();
  const auto t0 = std::chrono::steady_clock::now();
  while (!std::filesystem::exists(started)) {
    ASSERT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10)) << "no hook ran";
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(svc->control("stop", "ok").ok());
  svc->wait_idle();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  EXPECT_EQ(of(svc->snapshot(), "ok").status, "paused");
}

TEST_F(SiteServiceTest, AForcedStartForcesThatRunOnly) {
  auto svc = open(config({"ok"}));
  svc->tick();
  svc->wait_idle();
  EXPECT_EQ(svc->control("stop", "ok", true).error().code, ErrorCode::kInvalidArgument);
  ASSERT_TRUE(svc->control("start", "ok", true).ok());
  svc->tick();
  svc->wait_idle();
  ASSERT_TRUE(svc->control("start", "ok").ok());
  svc->tick();
  svc->wait_idle();
  EXPECT_EQ(runner.started(), (std::vector<std::string>{"ok", "ok forced", "ok"}));
}

TEST_F(SiteServiceTest, RunsOlderThanTheHistoryKeepsAreGoneFromTheStatusToo) {
  SiteConfig c = config({"ok"});
  c.history_days = 90;
  {
    auto svc = open(c);
    svc->tick();
    svc->wait_idle();
    clock.advance(hours(24) * 100);
    ASSERT_TRUE(svc->control("start", "ok").ok());
    svc->tick();
    svc->wait_idle();
    EXPECT_EQ(of(svc->snapshot(), "ok").runs.size(), 2u);
  }
  auto svc = open(c);  // the first run is 100 days old and not the last success
  const auto runs = of(svc->snapshot(), "ok").runs;
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].started, clock.wall());
}

TEST_F(SiteServiceTest, APruneDuringARunKeepsOneRecordOfIt) {
  auto svc = open(config({"slow"}));
  svc->start();  // the loop starts the run, then prunes (its first pass) while it goes on
  runner.wait_started(1);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  runner.release();
  const auto t0 = std::chrono::steady_clock::now();
  while (of(svc->snapshot(), "slow").status != "success") {
    ASSERT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  svc->stop();
  const auto runs = of(svc->snapshot(), "slow").runs;
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].result, "success");
}

TEST_F(SiteServiceTest, ATreeRemovedFromTheDiskIsMirroredAgainAtStart) {
  SiteConfig c = config({"ok"});
  std::filesystem::create_directories(c.jobs[0].dest);
  {
    auto svc = open(c);
    svc->tick();
    svc->wait_idle();
  }
  clock.advance(minutes(5));
  {
    auto svc = open(c);  // succeeded 5 minutes ago: next in 55
    svc->tick();
    svc->wait_idle();
    EXPECT_EQ(of(svc->snapshot(), "ok").runs.size(), 1u);
  }
  std::filesystem::remove_all(c.jobs[0].dest);
  auto svc = open(c);
  svc->tick();
  svc->wait_idle();
  EXPECT_EQ(of(svc->snapshot(), "ok").runs.size(), 2u) << "the missing tree waits for its schedule";
}

TEST_F(SiteServiceTest, SizeIsTheIndexesTheDisksOrNone) {
  SiteConfig c = config({"ok", "ok-disk", "ok-off"});
  c.jobs[1].size = "disk";
  c.jobs[2].size = "off";
  c.max_concurrent = 3;
  std::filesystem::path dest = c.jobs[1].dest;
  std::filesystem::create_directories(dest / "pool" / "main");
  std::filesystem::create_directories(dest / ".depot");
  ASSERT_TRUE(write_whole_file(dest / "pool" / "main" / "a.deb", std::string(1000, 'a')).ok());
  ASSERT_TRUE(write_whole_file(dest / "Release", std::string(24, 'r')).ok());
  ASSERT_TRUE(write_whole_file(dest / ".depot" / "state.db", std::string(5000, 's')).ok());
  auto svc = open(c);
  svc->tick();
  svc->wait_idle();
  auto all = svc->snapshot();
  for (const auto& s : all) ASSERT_TRUE(s.last_good.has_value()) << s.name;
  EXPECT_EQ(of(all, "ok").last_good->total_bytes, 1u << 20);  // as the run declared
  EXPECT_EQ(of(all, "ok-disk").last_good->total_bytes, 1024u);
  EXPECT_EQ(of(all, "ok-disk").last_good->total_files, 2u);
  EXPECT_EQ(of(all, "ok-off").last_good->total_bytes, 0u);
}

TEST_F(SiteServiceTest, ARunPastItsTimeoutIsCancelledAndFails) {
  SiteConfig c = config({"slow"});
  c.jobs[0].timeout = minutes(30);
  auto svc = open(c);
  svc->tick();
  clock.advance(minutes(31));
  svc->tick();
  svc->wait_idle();
  JobStatus s = of(svc->snapshot(), "slow");
  EXPECT_EQ(s.status, "failed");
  EXPECT_NE(s.last->error.find("timed out after 30m"), std::string::npos) << s.last->error;
}

}  // namespace
}  // namespace depot::site

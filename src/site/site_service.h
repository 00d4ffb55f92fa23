#pragma once
// SiteService: runs a site's jobs (`depot run`). It owns the scheduler, the run history and one
// thread per running job; the runs themselves are the JobRunner's. Every public method is
// thread-safe (one mutex); the scheduler and the history are only touched under it.
//
// A run: recorded as begun in the history, carried out by the runner with a cancel flag, then
// recorded with its outcome, followed by the job's exec_on_success / exec_on_failure hooks
// (`/bin/sh -c`, with DEPOT_JOB_NAME, DEPOT_JOB_DIR, DEPOT_JOB_RESULT, DEPOT_JOB_EXIT_CODE,
// DEPOT_JOB_SIZE, DEPOT_JOB_ERROR and tunasync's TUNASYNC_MIRROR_NAME, TUNASYNC_WORKING_DIR,
// TUNASYNC_JOB_EXIT_STATUS in the environment), and handed back to the scheduler.
// A successful run of a registry that wants Debian's mirror trace files (apt) writes
// project/trace/<site_name> into a mirror on local disk.
// A run longer than the job's timeout is cancelled and counts as failed.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/logger.h"
#include "core/result.h"
#include "site/history.h"
#include "site/job_runner.h"
#include "site/scheduler.h"
#include "site/site_config.h"
#include "site/status_render.h"

namespace depot::site {

class SiteService {
 public:
  // Opens the history (state_dir/history.db) and schedules the jobs. `runner`, `clock` and
  // `logger` outlive the service.
  static Result<std::unique_ptr<SiteService>> open(const SiteConfig& config, JobRunner& runner,
                                                   Clock& clock, Logger& logger);
  ~SiteService();

  // Starts the scheduling thread: it starts due runs, cancels runs past their timeout and
  // prunes the history, waking at least once a second.
  // `heartbeat` (may be empty) is called by the scheduling thread at every pass, about once a
  // second: a systemd watchdog ping that stops when scheduling stalls.
  void start(std::function<void()> heartbeat = nullptr);
  // Cancels every running run and waits for each to record its end; stops the scheduling
  // thread. Idempotent.
  void stop();
  // Applies a new configuration: new jobs are scheduled, removed jobs stop (a running run is
  // cancelled), kept ones keep their times and a running run continues with the settings it
  // started with. Besides the jobs, max_concurrent, retry, timeout, jitter and history_days
  // apply; the process's settings (SiteConfig::process_settings) need a restart: each one
  // changed is logged (site.reload_needs_restart) and kept.
  // A new data_root or state_dir (where every job's directory and the history live) is refused
  // (kInvalidArgument) and nothing changes.
  Status reload(const SiteConfig& config);
  // "start", "stop" (pause, cancelling a running run), "disable" (remembered across restarts),
  // "enable". kNotFound for an unknown job, kInvalidArgument for an unknown operation,
  // kRefused when the operation does not apply (start of a disabled or running job).
  Status control(std::string_view op, const std::string& name, bool force = false);

  std::vector<JobStatus> snapshot() const;
  // The tail of a job's log; kNotFound for an unknown job.
  Result<std::string> log_tail(const std::string& name, size_t max_bytes) const;
  size_t job_count() const;

  // One pass of the scheduling thread's work; for tests driving a fake clock.
  void tick();
  // Blocks until no run is in progress; for tests.
  void wait_idle();

 private:
  struct Run {
    JobConfig job;
    std::shared_ptr<std::atomic<bool>> cancel = std::make_shared<std::atomic<bool>>(false);
    std::string cancel_reason;  // "" until cancelled
    bool recorded = false;      // its end is in the history; only its hooks may still run
    WallTime started{};
    SteadyTime started_steady{};  // timeouts are measured on the steady clock
    int64_t history_id = 0;
    RunProgress progress;
    std::thread thread;
    bool done = false;
  };
  struct Record {                 // what the service keeps of a job between runs
    std::vector<RunRecord> runs;  // the last kKeptRuns, oldest first
    std::map<std::string, uint64_t> runs_total;
  };

  SiteService(const SiteConfig& config, JobRunner& runner, History history, Clock& clock,
              Logger& logger);
  std::vector<JobPlan> plans_locked();
  void start_due_locked();
  void cancel_locked(Run& run, const std::string& reason);
  // Drops runs older than history_days from the history (each job's last run of every result
  // stays) and reloads the recent runs kept in memory from it.
  Status prune_locked();
  void run_job(Run* run);
  void finish_run(Run* run, const RunOutcome& outcome);
  void reap_locked();
  void loop();
  JobStatus status_of_locked(const JobConfig& job) const;

  SiteConfig config_;
  JobRunner& runner_;
  History history_;
  Clock& clock_;
  Logger& logger_;
  Scheduler scheduler_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::map<std::string, std::unique_ptr<Run>> running_;
  std::vector<std::unique_ptr<Run>> finished_;  // threads to join
  std::map<std::string, Record> records_;
  bool stopping_ = false;
  std::set<std::string> forced_;  // started by `ctl start --force`: their next run is forced
  std::thread loop_;
  std::function<void()> heartbeat_;
  // Job logs; fixed at start (a reload does not move them).
  const std::filesystem::path log_dir_;
  const int log_keep_;
  const std::string log_format_, log_level_;
  const std::string site_name_;  // in trace files
};

}  // namespace depot::site

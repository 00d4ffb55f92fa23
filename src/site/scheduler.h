#pragma once
// Scheduler: decides when each job of a site runs. A pure state machine over the injected
// clock's wall time: no threads, no I/O, so tests drive it hour by hour without sleeping.
// - A job runs at its schedule's times, each delayed by a random part of `jitter`.
// - At most `max_concurrent` jobs run at once; due jobs wait, the longest-waiting first.
// - A failed run is retried after 1, 2, 4, ... minutes (never later than the job's next
//   scheduled time) up to `retry` times; then the job waits for its next scheduled time.
// - configure() replaces the job set (reload): new jobs are scheduled, removed ones forgotten
//   (a running one when it ends), kept ones keep their next time unless their schedule changed.
// - A paused job (stop) and a disabled one do not run on schedule; start() runs a job now.
// Not thread-safe: its owner serialises calls.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "site/schedule.h"

namespace depot::site {

// What the scheduler needs to know of a job.
struct JobPlan {
  std::string name;
  Schedule schedule;
  int retry = 2;
  bool enabled = true;
  // The last run before this process (from the history): its end and whether it succeeded.
  // None: the job runs at once. A run that did not succeed (failed, cut off by a stop or a
  // crash) is resumed at once; a successful one is followed at the schedule's next time after
  // its end, as within a process.
  std::optional<WallTime> last_ended;
  bool last_succeeded = false;
};

enum class JobPhase { kWaiting, kRunning, kPaused, kDisabled };

struct JobTimes {
  JobPhase phase = JobPhase::kWaiting;
  std::optional<WallTime> next;  // when it runs next; none while running, paused or disabled
  int failures = 0;              // consecutive failed runs
  bool queued = false;           // due, waiting for a free slot
  bool next_is_retry = false;    // `next` is a retry after a failure, not a scheduled time
};

class Scheduler {
 public:
  Scheduler(Clock& clock, int max_concurrent, std::chrono::seconds jitter);

  // Replaces the job set, the concurrency limit and the jitter (see the header comment).
  void configure(const std::vector<JobPlan>& jobs, int max_concurrent, std::chrono::seconds jitter);

  // The jobs that start now: due, not paused or disabled, within the concurrency limit; they
  // are marked running. Longest-waiting first.
  std::vector<std::string> take_due();
  // A run of `name` ended. A cancelled run (stop, shutdown) is neither a success nor retried.
  enum class Ended { kSucceeded, kFailed, kCancelled };
  void finished(const std::string& name, Ended how);

  // Runs `name` as soon as a slot is free (a paused job is resumed). False: no such job, or it
  // is disabled or running.
  bool start(const std::string& name);
  // Pauses `name`: it no longer runs on schedule until start(); the caller cancels a running
  // run. False: no such job.
  bool pause(const std::string& name);
  bool set_enabled(const std::string& name, bool enabled);

  std::optional<JobTimes> times(const std::string& name) const;
  std::vector<std::string> names() const;
  int running() const { return running_; }

 private:
  struct Job {
    JobPlan plan;
    JobTimes times;
    bool running = false;
    bool paused = false;
    bool removed = false;  // dropped by configure() while running
    int retries = 0;       // retries used since the last scheduled run
  };
  static JobPhase phase(const Job& job);
  WallTime jittered(WallTime t);
  // When a job not seen running in this process runs first: now when it never ran or its last
  // run did not succeed, else its schedule's next time after that run (jittered).
  WallTime first_time(const JobPlan& plan, WallTime now);
  // Next scheduled time after `after` (jittered); the retries start over.
  void schedule_next(Job& job, WallTime after);

  Clock& clock_;
  int max_concurrent_;
  std::chrono::seconds jitter_;
  int running_ = 0;
  std::map<std::string, Job> jobs_;
};

const char* phase_name(JobPhase p);

}  // namespace depot::site

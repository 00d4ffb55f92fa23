#pragma once
// JobQueue: the daemon's persisted job queue.
//
// Jobs live in their own SQLite database (schema in jobs_schema_v1.sql, WAL, synchronous=FULL)
// and are committed before submit() returns, so they survive a restart or a power loss. Each kind of job has one handler and one lane:
//   mutation  one thread runs these strictly one at a time, in submission (id) order;
//   worker    `workers` threads run these concurrently, oldest first (slow work: hashing,
//             compression, deltas).
// Lane threads sleep on condition variables and are woken by submit() and stop(); nothing
// polls.
//
// Crash semantics: open() sets jobs left "running" back to "queued", and start() runs them
// again. A handler may therefore run more than once for the same job (after a crash, or when
// the database could not record its end) and MUST be idempotent; Job::attempts tells how many
// times a lane has started the job.
//
// A handler's Result error, or any exception it throws, fails the job with that message; the
// lane goes on with the next job. A queued job whose kind has no handler (e.g. left by an older
// daemon) fails when its lane reaches it.
//
// Thread-safety: every public method may be called from any thread, except that
// register_handler() must happen before start() and stop()/the destructor must not be called
// from a handler. The database is one Connection guarded by one mutex; it is held only for
// short statements, never while a handler runs.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/logger.h"
#include "core/result.h"

namespace depot::pool {

enum class JobLane { kMutation, kWorker };
enum class JobState { kQueued, kRunning, kDone, kFailed };

const char* job_lane_name(JobLane lane);    // "mutation", "worker"
const char* job_state_name(JobState state);  // "queued", "running", "done", "failed"
std::optional<JobLane> parse_job_lane(std::string_view text);
std::optional<JobState> parse_job_state(std::string_view text);

struct Job {
  int64_t id = 0;
  std::string kind;
  JobLane lane = JobLane::kMutation;
  std::string args;  // JSON text, as submitted
  JobState state = JobState::kQueued;
  std::string message;  // result summary when done, error when failed
  int64_t attempts = 0;
  int64_t created_ms = 0;  // Unix milliseconds
  std::optional<int64_t> started_ms;
  std::optional<int64_t> finished_ms;

  bool finished() const { return state == JobState::kDone || state == JobState::kFailed; }
  // Run time: finished - started, or now - started while running; 0 before it starts.
  int64_t duration_ms(int64_t now_ms) const;
};

// Every set field must match; an empty filter matches every job.
struct JobFilter {
  std::optional<JobState> state = std::nullopt;
  std::optional<JobLane> lane = std::nullopt;
  std::optional<std::string> kind = std::nullopt;
};

// Returns the result summary stored in Job::message.
using JobHandler = std::function<Result<std::string>(const Job&)>;

class JobQueue {
 public:
  // Opens (creating) the database at `path` and requeues jobs a crash left running.
  // `workers` (>= 1) is the number of worker-lane threads start() creates. Timestamps come
  // from clock.wall().
  static Result<std::unique_ptr<JobQueue>> open(const std::filesystem::path& path,
                                                unsigned workers, Logger& logger,
                                                Clock& clock = system_clock());
  ~JobQueue();  // stop()
  JobQueue(const JobQueue&) = delete;
  JobQueue& operator=(const JobQueue&) = delete;

  // Before start(). kRefused for a kind registered twice or after start().
  Status register_handler(std::string kind, JobLane lane, JobHandler handler);

  // Starts the lane threads; they pick up every queued job, oldest first. Once only
  // (kRefused afterwards, including after stop()).
  Status start();

  // Persists a queued job and wakes its lane. `args` must be JSON (kInvalidArgument
  // otherwise, or for a kind without handler). Works before start() and after stop(): the job
  // waits in the database.
  Result<int64_t> submit(std::string_view kind, std::string_view args = "{}");

  Result<Job> get(int64_t id);
  // Newest first; limit 0 means no limit.
  Result<std::vector<Job>> list(const JobFilter& filter = {}, size_t limit = 0);

  // Deletes done and failed jobs that finished more than `older_than` ago; returns how many.
  Result<uint64_t> prune(std::chrono::seconds older_than);

  // Blocks until job `id` is done or failed, `timeout` passes, or stop() is requested, and
  // returns its state at that point (check Job::finished()). kNotFound for an unknown id.
  Result<Job> wait(int64_t id, std::chrono::milliseconds timeout);

  // Calls `done` once with job `id` when it is done or failed, or when a stop is requested (the
  // job may then be unfinished: check Job::finished()); with kNotFound for an unknown id. `done`
  // runs on the thread that ends the wait: the calling thread when the job has finished
  // already (or the queue is stopping), else the lane thread that finished it or the thread
  // that requests the stop, outside the queue's lock. It must be quick and must not call
  // stop(); an exception it throws is logged and dropped.
  void when_finished(int64_t id, std::function<void(Result<Job>)> done);

  // Non-blocking: lanes take no further jobs; waiters return and when_finished callbacks run.
  // For signal-driven shutdown.
  void request_stop();
  // request_stop(), then joins the lanes: running jobs finish and are recorded, queued jobs
  // stay queued in the database. Idempotent.
  void stop();

  struct Impl;

 private:
  explicit JobQueue(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace depot::pool

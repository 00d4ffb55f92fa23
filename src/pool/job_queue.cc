#include "pool/job_queue.h"

#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <utility>

#include "db/sqlite.h"
#include "jobs_schema_v1_sql.h"

namespace depot::pool {

namespace {

constexpr const char* kJobColumns =
    "id, kind, lane, args, state, message, attempts, created_ms, started_ms, finished_ms";

size_t lane_index(JobLane lane) { return lane == JobLane::kMutation ? 0 : 1; }

Result<Job> row_to_job(const db::Statement& st, const std::string& db_path) {
  Job j;
  j.id = st.column_int(0);
  j.kind = st.column_text(1);
  auto lane = parse_job_lane(st.column_text(2));
  auto state = parse_job_state(st.column_text(4));
  if (!lane || !state) {
    return make_error(ErrorCode::kParse,
                      db_path + ": job " + std::to_string(j.id) + " has an unknown lane or state");
  }
  j.lane = *lane;
  j.args = st.column_text(3);
  j.state = *state;
  j.message = st.column_text(5);
  j.attempts = st.column_int(6);
  j.created_ms = st.column_int(7);
  if (!st.column_is_null(8)) j.started_ms = st.column_int(8);
  if (!st.column_is_null(9)) j.finished_ms = st.column_int(9);
  return j;
}

}  // namespace

const char* job_lane_name(JobLane lane) {
  return lane == JobLane::kMutation ? "mutation" : "worker";
}

const char* job_state_name(JobState state) {
  switch (state) {
    case JobState::kQueued: return "queued";
    case JobState::kRunning: return "running";
    case JobState::kDone: return "done";
    case JobState::kFailed: return "failed";
  }
  return "unknown";
}

std::optional<JobLane> parse_job_lane(std::string_view text) {
  if (text == "mutation") return JobLane::kMutation;
  if (text == "worker") return JobLane::kWorker;
  return std::nullopt;
}

std::optional<JobState> parse_job_state(std::string_view text) {
  for (JobState s : {JobState::kQueued, JobState::kRunning, JobState::kDone, JobState::kFailed}) {
    if (text == job_state_name(s)) return s;
  }
  return std::nullopt;
}

int64_t Job::duration_ms(int64_t now_ms) const {
  if (!started_ms) return 0;
  int64_t end = finished_ms ? *finished_ms : now_ms;
  return end > *started_ms ? end - *started_ms : 0;
}

struct JobQueue::Impl {
  struct Handler {
    JobLane lane;
    JobHandler fn;
  };

  Impl(db::Connection c, unsigned w, Logger& l, Clock& k)
      : conn(std::move(c)), workers(w), log(l), clock(k) {}

  db::Connection conn;  // guarded by mu
  const unsigned workers;
  Logger& log;
  Clock& clock;

  std::mutex mu;
  std::condition_variable lane_cv[2];  // a lane has queued jobs, or stop
  std::condition_variable done_cv;     // a job finished, or stop
  int64_t queued[2] = {0, 0};          // queued jobs per lane, as far as this process knows
  bool started = false;
  bool stopping = false;
  // Written only before start() (under mu); read-only afterwards, so lanes read it unlocked.
  std::map<std::string, Handler, std::less<>> handlers;

  using Watcher = std::function<void(Result<Job>)>;
  std::multimap<int64_t, Watcher> watchers;  // when_finished callbacks by job id; guarded by mu

  std::mutex join_mu;  // serializes stop() callers
  std::vector<std::thread> threads;

  int64_t now_ms() const { return unix_millis(clock.wall()); }

  // All below: mu held.
  Result<Job> get_locked(int64_t id);
  Result<std::optional<Job>> claim(JobLane lane);
  Status finish(int64_t id, JobState state, const std::string& message);
  Status count_queued();
  Status realign_lanes();
  // Removes the watchers of job `id` (every job when `id` is 0), each paired with its job.
  std::vector<std::pair<Watcher, Result<Job>>> take_watchers(int64_t id);
  void notify(std::vector<std::pair<Watcher, Result<Job>>> fired);  // mu not held

  void run_lane(JobLane lane);
};

Result<Job> JobQueue::Impl::get_locked(int64_t id) {
  DEPOT_ASSIGN_OR_RETURN(db::Statement st,
                         conn.prepare(std::string("SELECT ") + kJobColumns +
                                      " FROM jobs WHERE id = ?"));
  st.bind(1, id);
  DEPOT_ASSIGN_OR_RETURN(bool row, st.step());
  if (!row) {
    return make_error(ErrorCode::kNotFound, conn.path() + ": no job " + std::to_string(id));
  }
  return row_to_job(st, conn.path());
}

Result<std::optional<Job>> JobQueue::Impl::claim(JobLane lane) {
  DEPOT_ASSIGN_OR_RETURN(
      db::Statement st,
      conn.prepare(std::string("UPDATE jobs SET state = 'running', started_ms = ?1, "
                               "finished_ms = NULL, attempts = attempts + 1 "
                               "WHERE id = (SELECT id FROM jobs WHERE lane = ?2 AND "
                               "state = 'queued' ORDER BY id LIMIT 1) RETURNING ") +
                   kJobColumns));
  st.bind(1, now_ms()).bind(2, job_lane_name(lane));
  DEPOT_ASSIGN_OR_RETURN(bool row, st.step());
  if (!row) return std::optional<Job>();
  DEPOT_ASSIGN_OR_RETURN(Job job, row_to_job(st, conn.path()));
  DEPOT_ASSIGN_OR_RETURN(bool more, st.step());  // completes (and commits) the UPDATE
  (void)more;
  return std::optional<Job>(std::move(job));
}

Status JobQueue::Impl::finish(int64_t id, JobState state, const std::string& message) {
  DEPOT_ASSIGN_OR_RETURN(db::Statement st,
                         conn.prepare("UPDATE jobs SET state = ?, message = ?, finished_ms = ? "
                                      "WHERE id = ?"));
  st.bind(1, job_state_name(state)).bind(2, message).bind(3, now_ms()).bind(4, id);
  return st.exec();
}

Status JobQueue::Impl::count_queued() {
  DEPOT_ASSIGN_OR_RETURN(
      db::Statement st,
      conn.prepare("SELECT lane, count(*) FROM jobs WHERE state = 'queued' GROUP BY lane"));
  queued[0] = queued[1] = 0;
  for (;;) {
    DEPOT_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) break;
    if (auto lane = parse_job_lane(st.column_text(0))) {
      queued[lane_index(*lane)] = st.column_int(1);
    }
  }
  return {};
}

// A kind whose handler moved to the other lane (a newer daemon) runs in its new lane.
Status JobQueue::Impl::realign_lanes() {
  DEPOT_ASSIGN_OR_RETURN(db::Statement st,
                         conn.prepare("UPDATE jobs SET lane = ?1 WHERE kind = ?2 AND "
                                      "state = 'queued' AND lane <> ?1"));
  for (const auto& [kind, h] : handlers) {
    st.bind(1, job_lane_name(h.lane)).bind(2, kind);
    DEPOT_TRY(st.exec());
    st.reset();
  }
  return {};
}

std::vector<std::pair<JobQueue::Impl::Watcher, Result<Job>>> JobQueue::Impl::take_watchers(
    int64_t id) {
  std::vector<std::pair<Watcher, Result<Job>>> fired;
  auto first = id == 0 ? watchers.begin() : watchers.lower_bound(id);
  auto last = id == 0 ? watchers.end() : watchers.upper_bound(id);
  for (auto it = first; it != last; ++it) {
    fired.emplace_back(std::move(it->second), get_locked(it->first));
  }
  watchers.erase(first, last);
  return fired;
}

void JobQueue::Impl::notify(std::vector<std::pair<Watcher, Result<Job>>> fired) {
  for (auto& [done, job] : fired) {
    try {
      done(std::move(job));
    } catch (const std::exception& e) {
      log.error("job_callback_threw", {{"error", e.what()}});
    }
  }
}

void JobQueue::Impl::run_lane(JobLane lane) {
  const size_t li = lane_index(lane);
  std::unique_lock lk(mu);
  for (;;) {
    lane_cv[li].wait(lk, [&] { return stopping || queued[li] > 0; });
    if (stopping) return;
    auto claimed = claim(lane);
    if (!claimed.ok()) {
      // Sleep until the next submit rather than spin on a failing database.
      log.error("job_claim_failed", {{"lane", job_lane_name(lane)},
                                     {"error", claimed.error().to_string()}});
      queued[li] = 0;
      continue;
    }
    if (!claimed->has_value()) {
      queued[li] = 0;
      continue;
    }
    if (queued[li] > 0) --queued[li];
    Job job = std::move(**claimed);
    auto it = handlers.find(job.kind);
    const Handler* handler = it == handlers.end() ? nullptr : &it->second;
    lk.unlock();

    log.info("job_started", {{"id", job.id},
                             {"kind", job.kind},
                             {"lane", job_lane_name(lane)},
                             {"attempt", job.attempts}});
    JobState state = JobState::kFailed;
    std::string message;
    if (handler == nullptr) {
      message = "no handler for job kind '" + job.kind + "'";
    } else {
      try {
        Result<std::string> r = handler->fn(job);
        if (r.ok()) {
          state = JobState::kDone;
          message = std::move(r).value();
        } else {
          message = r.error().to_string();
        }
      } catch (const std::exception& e) {
        message = std::string("exception: ") + e.what();
      } catch (...) {
        message = "exception of unknown type";
      }
    }

    lk.lock();
    Status st = finish(job.id, state, message);
    auto fired = take_watchers(job.id);
    lk.unlock();
    notify(std::move(fired));
    if (!st.ok()) {
      // The row stays "running": the job runs again after the next restart.
      log.error("job_record_failed", {{"id", job.id}, {"error", st.error().to_string()}});
    } else if (state == JobState::kDone) {
      log.info("job_done", {{"id", job.id}, {"kind", job.kind}});
    } else {
      log.warn("job_failed", {{"id", job.id}, {"kind", job.kind}, {"error", message}});
    }
    done_cv.notify_all();
    lk.lock();
  }
}

JobQueue::JobQueue(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

JobQueue::~JobQueue() { stop(); }

Result<std::unique_ptr<JobQueue>> JobQueue::open(const std::filesystem::path& path,
                                                 unsigned workers, Logger& logger,
                                                 Clock& clock) {
  if (workers == 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      path.string() + ": the job queue needs at least one worker");
  }
  DEPOT_ASSIGN_OR_RETURN(db::Connection conn, db::Connection::open(path));
  // A submitted job must survive power loss too, not only a crash of the process.
  DEPOT_TRY(conn.exec("PRAGMA synchronous=FULL"));
  DEPOT_TRY(conn.migrate({kJobsSchemaV1}));
  DEPOT_TRY(conn.exec("UPDATE jobs SET state = 'queued', started_ms = NULL "
                      "WHERE state = 'running'"));
  if (int n = conn.changes(); n > 0) {
    logger.warn("jobs_requeued", {{"db", path.string()}, {"count", n}});
  }
  return std::unique_ptr<JobQueue>(
      new JobQueue(std::make_unique<Impl>(std::move(conn), workers, logger, clock)));
}

Status JobQueue::register_handler(std::string kind, JobLane lane, JobHandler handler) {
  std::lock_guard lk(impl_->mu);
  if (impl_->started || impl_->stopping) {
    return make_error(ErrorCode::kRefused, "job handler '" + kind + "' registered after start");
  }
  if (impl_->handlers.count(kind) != 0) {
    return make_error(ErrorCode::kRefused, "job handler '" + kind + "' registered twice");
  }
  impl_->handlers.emplace(std::move(kind), Impl::Handler{lane, std::move(handler)});
  return {};
}

Status JobQueue::start() {
  Impl& m = *impl_;
  std::lock_guard lk(m.mu);
  if (m.started || m.stopping) {
    return make_error(ErrorCode::kRefused, m.conn.path() + ": job queue started twice");
  }
  DEPOT_TRY(m.realign_lanes());
  DEPOT_TRY(m.count_queued());
  m.started = true;
  // The new threads block on mu until this returns.
  m.threads.emplace_back([&m] { m.run_lane(JobLane::kMutation); });
  for (unsigned i = 0; i < m.workers; ++i) {
    m.threads.emplace_back([&m] { m.run_lane(JobLane::kWorker); });
  }
  return {};
}

Result<int64_t> JobQueue::submit(std::string_view kind, std::string_view args) {
  if (!nlohmann::json::accept(args)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "job '" + std::string(kind) + "': arguments are not JSON");
  }
  Impl& m = *impl_;
  std::unique_lock lk(m.mu);
  auto it = m.handlers.find(kind);
  if (it == m.handlers.end()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "no handler for job kind '" + std::string(kind) + "'");
  }
  const JobLane lane = it->second.lane;
  DEPOT_ASSIGN_OR_RETURN(db::Statement st,
                         m.conn.prepare("INSERT INTO jobs (kind, lane, args, state, created_ms) "
                                        "VALUES (?, ?, ?, 'queued', ?)"));
  st.bind(1, kind).bind(2, job_lane_name(lane)).bind(3, args).bind(4, m.now_ms());
  DEPOT_TRY(st.exec());
  const int64_t id = m.conn.last_insert_rowid();
  ++m.queued[lane_index(lane)];
  lk.unlock();
  m.lane_cv[lane_index(lane)].notify_one();
  return id;
}

Result<Job> JobQueue::get(int64_t id) {
  std::lock_guard lk(impl_->mu);
  return impl_->get_locked(id);
}

Result<std::vector<Job>> JobQueue::list(const JobFilter& filter, size_t limit) {
  std::string sql = std::string("SELECT ") + kJobColumns + " FROM jobs WHERE 1";
  if (filter.state) sql += " AND state = ?1";
  if (filter.lane) sql += " AND lane = ?2";
  if (filter.kind) sql += " AND kind = ?3";
  sql += " ORDER BY id DESC LIMIT ?4";
  std::lock_guard lk(impl_->mu);
  DEPOT_ASSIGN_OR_RETURN(db::Statement st, impl_->conn.prepare(sql));
  if (filter.state) st.bind(1, job_state_name(*filter.state));
  if (filter.lane) st.bind(2, job_lane_name(*filter.lane));
  if (filter.kind) st.bind(3, *filter.kind);
  st.bind(4, limit == 0 ? int64_t{-1} : static_cast<int64_t>(limit));
  std::vector<Job> jobs;
  for (;;) {
    DEPOT_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) break;
    DEPOT_ASSIGN_OR_RETURN(Job j, row_to_job(st, impl_->conn.path()));
    jobs.push_back(std::move(j));
  }
  return jobs;
}

Result<uint64_t> JobQueue::prune(std::chrono::seconds older_than) {
  const int64_t cutoff =
      impl_->now_ms() -
      std::chrono::duration_cast<std::chrono::milliseconds>(older_than).count();
  std::lock_guard lk(impl_->mu);
  DEPOT_ASSIGN_OR_RETURN(db::Statement st,
                         impl_->conn.prepare("DELETE FROM jobs WHERE state IN ('done', 'failed') "
                                             "AND finished_ms < ?1"));
  st.bind(1, cutoff);
  DEPOT_TRY(st.exec());
  return static_cast<uint64_t>(impl_->conn.changes());
}

Result<Job> JobQueue::wait(int64_t id, std::chrono::milliseconds timeout) {
  using Steady = std::chrono::steady_clock;
  // Saturate, so that milliseconds::max() means "no timeout".
  const auto now = Steady::now();
  const auto max_wait = std::chrono::duration_cast<std::chrono::milliseconds>(
      Steady::time_point::max() - now);
  const Steady::time_point deadline =
      timeout >= max_wait ? Steady::time_point::max() : now + std::max(timeout, std::chrono::milliseconds(0));
  Impl& m = *impl_;
  std::unique_lock lk(m.mu);
  for (;;) {
    // Finishing jobs update the row under mu before notifying, so no wake-up is lost.
    DEPOT_ASSIGN_OR_RETURN(Job job, m.get_locked(id));
    if (job.finished() || m.stopping || Steady::now() >= deadline) return job;
    if (deadline == Steady::time_point::max()) {
      m.done_cv.wait(lk);
    } else {
      m.done_cv.wait_until(lk, deadline);
    }
  }
}

void JobQueue::when_finished(int64_t id, std::function<void(Result<Job>)> done) {
  Impl& m = *impl_;
  std::unique_lock lk(m.mu);
  Result<Job> job = m.get_locked(id);
  if (job.ok() && !job->finished() && !m.stopping) {
    m.watchers.emplace(id, std::move(done));
    return;
  }
  lk.unlock();
  std::vector<std::pair<Impl::Watcher, Result<Job>>> now;
  now.emplace_back(std::move(done), std::move(job));
  m.notify(std::move(now));
}

void JobQueue::request_stop() {
  Impl& m = *impl_;
  std::vector<std::pair<Impl::Watcher, Result<Job>>> fired;
  {
    std::lock_guard lk(m.mu);
    m.stopping = true;
    fired = m.take_watchers(0);
  }
  for (auto& cv : m.lane_cv) cv.notify_all();
  m.done_cv.notify_all();
  m.notify(std::move(fired));
}

void JobQueue::stop() {
  request_stop();
  std::lock_guard jl(impl_->join_mu);
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
  impl_->threads.clear();
}

}  // namespace depot::pool

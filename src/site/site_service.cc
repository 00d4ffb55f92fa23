#include "site/site_service.h"

#include <unistd.h>

#include <algorithm>

#include "core/subprocess.h"
#include "core/units.h"
#include "site/job_log.h"
#include "site/trace_file.h"
#include "site/upstream_trace.h"
#include "transfer/http_util.h"

namespace depot::site {
namespace {

constexpr int kKeptRuns = 30;
constexpr auto kPruneEvery = std::chrono::hours(1);

const char* result_of(const RunOutcome& o) {
  if (o.cancelled) return "cancelled";
  return o.exit_code == 0 ? "success" : "failed";
}

Scheduler::Ended ended_of(const std::string& result) {
  if (result == "success") return Scheduler::Ended::kSucceeded;
  if (result == "cancelled") return Scheduler::Ended::kCancelled;
  return Scheduler::Ended::kFailed;
}

// What a hook is told of its run.
struct HookFacts {
  const RunRecord& run;
  uint64_t size = 0;  // bytes of the mirror as last good (also after a failed run)
  std::filesystem::path log_dir;
  const std::atomic<bool>* cancel = nullptr;  // a stop or shutdown kills the hook
};

// Runs each hook command with the run's facts in its environment (depot's names and
// tunasync's), in a process group of its own; failures are logged.
void run_hooks(const std::vector<std::string>& commands, const JobConfig& job,
               const HookFacts& f, Logger& log) {
  const RunRecord& r = f.run;
  for (const std::string& cmd : commands) {
    std::vector<std::string> argv = {
        "env",
        "-u",
        "NOTIFY_SOCKET",  // systemd's, for depot alone
        "DEPOT_JOB_NAME=" + job.name,
        "DEPOT_JOB_DIR=" + job.dest,
        "DEPOT_JOB_RESULT=" + r.result,
        "DEPOT_JOB_EXIT_CODE=" + std::to_string(r.exit_code),
        "DEPOT_JOB_SIZE=" + std::to_string(f.size),
        "DEPOT_JOB_ERROR=" + redact_credentials(r.error),
        "TUNASYNC_MIRROR_NAME=" + job.name,
        "TUNASYNC_WORKING_DIR=" + job.dest,
        "TUNASYNC_UPSTREAM_URL=" + redact_credentials(job.upstream),
        "TUNASYNC_LOG_DIR=" + f.log_dir.string(),
        "TUNASYNC_LOG_FILE=" + (f.log_dir / (job.name + ".log")).string(),
        std::string("TUNASYNC_JOB_EXIT_STATUS=") + (r.result == "success" ? "success" : "failure"),
        "/bin/sh",
        "-c",
        cmd};
    ProcessOptions opts;
    opts.timeout = std::chrono::minutes(10);
    opts.own_process_group = true;
    opts.cancel = f.cancel;
    auto done = run_process(argv, opts);
    if (f.cancel != nullptr && f.cancel->load()) {  // the run itself stays as recorded
      log.warn("site.hook_cancelled", {{"job", job.name}, {"command", cmd}});
      return;
    }
    if (!done.ok()) {
      log.error("site.hook_failed",
                {{"job", job.name}, {"command", cmd}, {"error", done.error().message}});
    } else if (done->exit_code != 0) {
      log.error("site.hook_failed", {{"job", job.name},
                                     {"command", cmd},
                                     {"exit_code", done->exit_code},
                                     {"stderr", done->err.substr(0, 2000)}});
    } else {
      log.info("site.hook", {{"job", job.name}, {"command", cmd}});
    }
  }
}

// Bytes and files below `dir`, leaving out depot's own .depot* entries at the top.
std::pair<uint64_t, uint64_t> disk_usage(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  uint64_t bytes = 0, files = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it.depth() == 0 && it->path().filename().string().starts_with(".depot")) {
      it.disable_recursion_pending();
      continue;
    }
    std::error_code stat_ec;
    if (it->is_regular_file(stat_ec)) {
      bytes += it->file_size(stat_ec);
      ++files;
    }
  }
  return {bytes, files};
}

// The size the job's `size` setting asks for.
void apply_size_setting(const JobConfig& job, RunOutcome& o) {
  if (job.size == "off") {
    o.total_bytes = o.total_files = 0;
  } else if (job.size == "disk" && std::filesystem::path(job.dest).is_absolute() &&
             o.exit_code == 0) {
    std::tie(o.total_bytes, o.total_files) = disk_usage(job.dest);
  }
}

// The site's name in trace files: site_name, else the host name.
std::string trace_site_name(const SiteConfig& c) {
  if (!c.site_name.empty()) return c.site_name;
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "depot";
  return host;
}

// Debian's trace file, for registries that want one and a mirror on local disk.
void write_mirror_trace(const JobConfig& job, const std::string& site, WallTime started,
                        WallTime ended, const RunOutcome& o, Logger& log) {
  if (!keeps_traces(job)) return;
  TraceInfo info;
  info.started = started;
  info.ended = ended;
  info.software = "depot 0.1.0";
  std::string_view host = job.upstream;
  if (size_t at = host.find("://"); at != std::string_view::npos) host.remove_prefix(at + 3);
  host = host.substr(0, host.find('/'));
  if (size_t at = host.rfind('@'); at != std::string_view::npos) host.remove_prefix(at + 1);
  info.upstream = std::string(host);
  info.arch_include = job.source.list("arch");
  info.architectures = info.arch_include;  // what the mirror holds: what it was told to take
  info.bytes = o.bytes;
  info.seconds = std::chrono::duration<double>(ended - started).count();
  if (Status st = write_trace(job.dest, site, info); !st.ok()) {
    log.warn("site.trace_failed", {{"job", job.name}, {"error", st.error().message}});
  }
}

}  // namespace

SiteService::SiteService(const SiteConfig& config, JobRunner& runner, History history, Clock& clock,
                         Logger& logger)
    : config_(config),
      runner_(runner),
      history_(std::move(history)),
      clock_(clock),
      logger_(logger),
      scheduler_(clock, config.max_concurrent, config.jitter),
      log_dir_(config.log_dir),
      log_keep_(config.log_keep),
      log_format_(config.log_format),
      log_level_(config.log_level),
      site_name_(trace_site_name(config)) {}

Result<std::unique_ptr<SiteService>> SiteService::open(const SiteConfig& config, JobRunner& runner,
                                                       Clock& clock, Logger& logger) {
  auto history = History::open(config.state_dir / "history.db", clock.wall());
  if (!history.ok()) return history.error();
  std::unique_ptr<SiteService> s(
      new SiteService(config, runner, std::move(*history), clock, logger));
  std::lock_guard lock(s->mu_);
  if (Status st = s->prune_locked(); !st.ok()) return st.error();
  s->scheduler_.configure(s->plans_locked(), config.max_concurrent, config.jitter);
  return s;
}

SiteService::~SiteService() { stop(); }

std::vector<JobPlan> SiteService::plans_locked() {
  auto disabled = history_.disabled();
  std::vector<JobPlan> plans;
  for (const JobConfig& job : config_.jobs) {
    JobPlan p;
    p.name = job.name;
    p.schedule = job.schedule;
    p.retry = job.retry;
    p.enabled = job.enabled;
    if (disabled.ok() && disabled->count(job.name)) p.enabled = false;
    const auto& runs = records_[job.name].runs;
    // A tree removed from the disk is mirrored again at once, whatever its last run did.
    const std::filesystem::path dest(job.dest);
    std::error_code ec;
    const bool gone = dest.is_absolute() && !std::filesystem::exists(dest, ec) && !ec;
    if (!runs.empty() && !gone) {
      p.last_ended = runs.back().ended.value_or(runs.back().started);
      p.last_succeeded = runs.back().result == "success";
    }
    plans.push_back(std::move(p));
  }
  return plans;
}

void SiteService::start(std::function<void()> heartbeat) {
  std::lock_guard lock(mu_);
  if (loop_.joinable() || stopping_) return;
  heartbeat_ = std::move(heartbeat);
  loop_ = std::thread([this] { loop(); });
}

Status SiteService::prune_locked() {
  DEPOT_TRY(history_.prune(clock_.wall() - std::chrono::hours(24) * config_.history_days));
  for (const JobConfig& job : config_.jobs) {
    auto runs = history_.recent(job.name, kKeptRuns);
    if (!runs.ok()) return runs.error();
    // A run going on now joins its record when it ends (finish_run).
    std::erase_if(*runs, [](const RunRecord& r) { return r.result == "running"; });
    records_[job.name].runs = std::move(*runs);
  }
  return {};
}

void SiteService::loop() {
  WallTime last_prune{};
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    tick();
    if (heartbeat_) heartbeat_();
    lock.lock();
    WallTime now = clock_.wall();
    if (now - last_prune > kPruneEvery) {
      last_prune = now;
      if (Status st = prune_locked(); !st.ok()) {
        logger_.error("site.history", {{"error", st.error().message}});
      }
    }
    changed_.wait_for(lock, std::chrono::seconds(1));
  }
}

void SiteService::tick() {
  std::lock_guard lock(mu_);
  if (stopping_) return;
  reap_locked();
  for (auto& [name, run] : running_) {
    if (run->job.timeout.count() > 0 && clock_.now() - run->started_steady > run->job.timeout &&
        run->cancel_reason.empty()) {
      cancel_locked(*run, "timed out after " + format_duration(run->job.timeout));
    }
  }
  start_due_locked();
}

void SiteService::start_due_locked() {
  for (const std::string& name : scheduler_.take_due()) {
    const JobConfig* job = config_.find(name);
    if (job == nullptr) {  // removed by a reload between its scheduling and now
      scheduler_.finished(name, Scheduler::Ended::kCancelled);
      continue;
    }
    auto run = std::make_unique<Run>();
    run->job = *job;
    run->job.engine.force = forced_.erase(name) > 0;  // this run only
    run->started = clock_.wall();
    run->started_steady = clock_.now();
    auto id = history_.begin(name, run->started);
    if (!id.ok()) logger_.error("site.history", {{"job", name}, {"error", id.error().message}});
    run->history_id = id.ok() ? *id : 0;
    logger_.info("site.run_started", {{"job", name}});
    Run* raw = run.get();
    running_[name] = std::move(run);
    raw->thread = std::thread([this, raw] { run_job(raw); });
  }
}

void SiteService::run_job(Run* run) {
  auto log = JobLog::open(log_dir_, run->job.name, static_cast<unsigned>(log_keep_));
  if (!log.ok())
    logger_.warn("site.job_log", {{"job", run->job.name}, {"error", log.error().message}});
  Logger job_logger(parse_log_level(log_level_), parse_log_format(log_format_),
                    log.ok() ? log->file() : stderr);
  job_logger.set_value_filter(redact_credentials);  // the engine logs URLs as they are
  job_logger.info("site.run_started", {{"job", run->job.name},
                                       {"registry", run->job.registry},
                                       {"upstream", run->job.upstream},
                                       {"dir", run->job.dest}});
  RunOutcome outcome =
      runner_.run(run->job, run->cancel, job_logger, [this, run](const RunProgress& p) {
        std::lock_guard lock(mu_);
        run->progress = p;
      });
  apply_size_setting(run->job, outcome);
  if (outcome.exit_code == 0 && !outcome.cancelled) {
    write_mirror_trace(run->job, site_name_, run->started, clock_.wall(), outcome, job_logger);
  }
  job_logger.info(
      "site.run_ended",
      {{"job", run->job.name}, {"exit_code", outcome.exit_code}, {"error", outcome.error}});
  finish_run(run, outcome);
}

Result<std::string> SiteService::log_tail(const std::string& name, size_t max_bytes) const {
  std::filesystem::path dir;
  {
    std::lock_guard lock(mu_);
    if (config_.find(name) == nullptr) {
      return make_error(ErrorCode::kNotFound,
                        "no job named '" + name + "' in " + config_.file.string());
    }
    dir = log_dir_;
  }
  return JobLog::tail(dir, name, max_bytes);
}

void SiteService::finish_run(Run* run, const RunOutcome& outcome) {
  RunRecord r;
  uint64_t hook_size = 0;
  {
    std::lock_guard lock(mu_);
    r.id = run->history_id;
    r.job = run->job.name;
    r.started = run->started;
    r.ended = clock_.wall();
    r.result = result_of(outcome);
    if (r.result == "cancelled" && run->cancel_reason.starts_with("timed out")) r.result = "failed";
    r.files = outcome.files;
    r.bytes = outcome.bytes;
    r.total_files = outcome.total_files;
    r.total_bytes = outcome.total_bytes;
    r.exit_code = outcome.exit_code;
    r.error = redact_credentials(
        outcome.cancelled && !run->cancel_reason.empty() ? run->cancel_reason : outcome.error);
    if (r.id != 0) {  // recorded before the hooks, which may take minutes
      if (Status st = history_.end(r); !st.ok()) {
        logger_.error("site.history", {{"job", r.job}, {"error", st.error().message}});
      }
    }
    run->recorded = true;
    Record& rec = records_[r.job];
    for (auto it = rec.runs.rbegin(); it != rec.runs.rend() && r.result != "success"; ++it) {
      if (it->result == "success") {
        hook_size = it->total_bytes;
        break;
      }
    }
    if (r.result == "success") hook_size = r.total_bytes;
    rec.runs.push_back(r);
    if (rec.runs.size() > kKeptRuns) rec.runs.erase(rec.runs.begin());
    rec.runs_total[r.result]++;
  }
  logger_.log(r.result == "success" ? LogLevel::kInfo : LogLevel::kWarn, "site.run_ended",
              {{"job", r.job},
               {"result", r.result},
               {"exit_code", r.exit_code},
               {"files", r.files},
               {"bytes", r.bytes},
               {"error", redact_credentials(r.error)}});
  // A cancelled run (a stop, a shutdown, a removal) runs no hook.
  if (r.result != "cancelled") {
    run_hooks(r.result == "success" ? run->job.exec_on_success : run->job.exec_on_failure,
              run->job, HookFacts{r, hook_size, log_dir_, run->cancel.get()}, logger_);
  }
  std::lock_guard lock(mu_);
  scheduler_.finished(r.job, ended_of(r.result));
  run->done = true;
  changed_.notify_all();
}

void SiteService::reap_locked() {
  for (auto it = running_.begin(); it != running_.end();) {
    if (!it->second->done) {
      ++it;
      continue;
    }
    finished_.push_back(std::move(it->second));
    it = running_.erase(it);
  }
  for (auto& run : finished_) {
    if (run->thread.joinable()) run->thread.join();  // done: the thread is past its last lock
  }
  finished_.clear();
}

void SiteService::cancel_locked(Run& run, const std::string& reason) {
  if (run.cancel_reason.empty()) run.cancel_reason = reason;
  run.cancel->store(true);
  logger_.info(run.recorded ? "site.hooks_cancelled" : "site.run_cancelled",
               {{"job", run.job.name}, {"reason", reason}});
}

void SiteService::stop() {
  std::unique_lock lock(mu_);
  stopping_ = true;
  for (auto& [name, run] : running_) cancel_locked(*run, "cancelled: depot is stopping");
  changed_.notify_all();
  changed_.wait(lock, [&] {
    return std::all_of(running_.begin(), running_.end(),
                       [](const auto& r) { return r.second->done; });
  });
  reap_locked();
  std::thread loop = std::move(loop_);
  lock.unlock();
  if (loop.joinable()) loop.join();
}

void SiteService::wait_idle() {
  std::unique_lock lock(mu_);
  changed_.wait(lock, [&] {
    return std::all_of(running_.begin(), running_.end(),
                       [](const auto& r) { return r.second->done; });
  });
  reap_locked();
}

size_t SiteService::job_count() const {
  std::lock_guard lock(mu_);
  return config_.jobs.size();
}

Status SiteService::reload(const SiteConfig& config) {
  std::lock_guard lock(mu_);
  if (config.data_root != config_.data_root || config.state_dir != config_.state_dir) {
    return make_error(ErrorCode::kInvalidArgument,
                      config.file.string() + ": data_root or state_dir changed (jobs would write "
                                             "where nothing is served): restart depot run to "
                                             "apply it; the running configuration is kept");
  }
  for (const auto& [key, text] : config.process_settings) {
    auto old = config_.process_settings.find(key);
    if (old == config_.process_settings.end() || old->second != text) {
      logger_.warn("site.reload_needs_restart", {{"setting", key}});
    }
  }
  // Only the jobs and their scheduling change; the rest stays as the process started.
  SiteConfig next = config_;
  next.jobs = config.jobs;
  next.max_concurrent = config.max_concurrent;
  next.retry = config.retry;
  next.timeout = config.timeout;
  next.jitter = config.jitter;
  next.history_days = config.history_days;
  config_ = std::move(next);
  for (auto& [name, run] : running_) {
    if (config_.find(name) == nullptr)
      cancel_locked(*run, "cancelled: removed from the configuration");
  }
  for (const JobConfig& job : config_.jobs) {
    if (!records_.count(job.name)) {
      auto runs = history_.recent(job.name, kKeptRuns);
      records_[job.name].runs = runs.ok() ? std::move(*runs) : std::vector<RunRecord>{};
    }
  }
  scheduler_.configure(plans_locked(), config_.max_concurrent, config_.jitter);
  logger_.info("site.reloaded", {{"jobs", static_cast<uint64_t>(config_.jobs.size())}});
  changed_.notify_all();
  return {};
}

Status SiteService::control(std::string_view op, const std::string& name, bool force) {
  std::lock_guard lock(mu_);
  if (config_.find(name) == nullptr) {
    return make_error(ErrorCode::kNotFound,
                      "no job named '" + name + "' in " + config_.file.string());
  }
  auto running = running_.find(name);
  bool is_running = running != running_.end() && !running->second->done;
  if (force && op != "start") {
    return make_error(ErrorCode::kInvalidArgument, "only start takes force");
  }
  if (op == "start") {
    if (!scheduler_.start(name)) {
      return make_error(ErrorCode::kRefused, name + (is_running ? " is running" : " is disabled"));
    }
    if (force) forced_.insert(name);
  } else if (op == "stop") {
    forced_.erase(name);
    scheduler_.pause(name);
    if (is_running) cancel_locked(*running->second, "cancelled: stopped by an operator");
  } else if (op == "disable" || op == "enable") {
    bool enable = op == "enable";
    forced_.erase(name);
    if (Status st = history_.set_disabled(name, !enable); !st.ok()) return st;
    scheduler_.set_enabled(name, enable);
    if (!enable && is_running)
      cancel_locked(*running->second, "cancelled: disabled by an operator");
  } else {
    return make_error(ErrorCode::kInvalidArgument, "unknown operation '" + std::string(op) + "'");
  }
  logger_.info("site.control", {{"job", name}, {"op", std::string(op) + (force ? " --force" : "")}});
  changed_.notify_all();
  return {};
}

JobStatus SiteService::status_of_locked(const JobConfig& job) const {
  JobStatus s;
  s.name = job.name;
  s.registry = job.registry;
  s.upstream = job.upstream;
  s.dest = job.dest;
  s.path = job.url_path;
  auto rec = records_.find(job.name);
  if (rec != records_.end()) {
    s.runs = rec->second.runs;
    s.runs_total = rec->second.runs_total;
  }
  const RunRecord* decided = nullptr;  // the last run that succeeded or failed
  for (auto it = s.runs.rbegin(); it != s.runs.rend(); ++it) {
    if (!s.last && it->result != "running") s.last = *it;
    if (!s.last_good && it->result == "success") s.last_good = *it;
    if (!decided && (it->result == "success" || it->result == "failed")) decided = &*it;
  }
  if (s.last) {
    s.last_started = s.last->started;
    s.last_ended = s.last->ended;
  }
  // A cancelled run (a stop, a restart) says nothing of the mirror: the run before it does.
  if (decided) s.status = decided->result;
  if (s.last_good) s.last_update = s.last_good->ended;
  auto times = scheduler_.times(job.name);
  if (times) {
    s.next_schedule = times->next;
    s.queued = times->queued;
    if (times->phase == JobPhase::kPaused) s.status = "paused";
    if (times->phase == JobPhase::kDisabled) s.status = "disabled";
  }
  auto run = running_.find(job.name);
  if (run != running_.end() && !run->second->done) {
    s.status = "syncing";
    s.last_started = run->second->started;
    s.phase = run->second->progress.phase;
    s.progress_files = run->second->progress.files_done;
    s.progress_files_total = run->second->progress.files_total;
    s.progress_bytes = run->second->progress.bytes_done;
  }
  return s;
}

std::vector<JobStatus> SiteService::snapshot() const {
  std::lock_guard lock(mu_);
  std::vector<JobStatus> out;
  for (const JobConfig& job : config_.jobs) out.push_back(status_of_locked(job));
  return out;
}

}  // namespace depot::site

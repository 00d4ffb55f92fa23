#include "site/scheduler.h"

#include <algorithm>

namespace depot::site {
namespace {

constexpr std::chrono::seconds kFirstRetry{60};

}  // namespace

const char* phase_name(JobPhase p) {
  switch (p) {
    case JobPhase::kWaiting:
      return "waiting";
    case JobPhase::kRunning:
      return "running";
    case JobPhase::kPaused:
      return "paused";
    case JobPhase::kDisabled:
      return "disabled";
  }
  return "?";
}

Scheduler::Scheduler(Clock& clock, int max_concurrent, std::chrono::seconds jitter)
    : clock_(clock), max_concurrent_(std::max(1, max_concurrent)), jitter_(jitter) {}

WallTime Scheduler::jittered(WallTime t) {
  if (jitter_.count() <= 0) return t;
  auto extra = std::chrono::duration<double>(jitter_).count() * clock_.random_unit();
  return t + std::chrono::duration_cast<WallTime::duration>(std::chrono::duration<double>(extra));
}

WallTime Scheduler::first_time(const JobPlan& plan, WallTime now) {
  if (!plan.last_ended || !plan.last_succeeded) return jittered(now);
  return jittered(plan.schedule.next_after(*plan.last_ended));
}

void Scheduler::schedule_next(Job& job, WallTime after) {
  job.times.next = jittered(job.plan.schedule.next_after(after));
  job.times.next_is_retry = false;
  job.retries = 0;
}

void Scheduler::configure(const std::vector<JobPlan>& jobs, int max_concurrent,
                          std::chrono::seconds jitter) {
  max_concurrent_ = std::max(1, max_concurrent);
  jitter_ = jitter;
  const WallTime now = clock_.wall();
  std::map<std::string, Job> next;
  for (const JobPlan& plan : jobs) {
    auto old = jobs_.find(plan.name);
    Job job;
    if (old != jobs_.end()) {
      job = std::move(old->second);
      jobs_.erase(old);
      bool rescheduled = job.plan.schedule.text() != plan.schedule.text() ||
                         job.plan.schedule.zone() != plan.schedule.zone();
      job.plan = plan;
      job.removed = false;
      if (rescheduled && !job.times.next_is_retry) schedule_next(job, now);
    } else {
      job.plan = plan;
      job.times.next = first_time(plan, now);
    }
    next.emplace(plan.name, std::move(job));
  }
  for (auto& [name, job] : jobs_) {  // dropped from the configuration
    if (!job.running) continue;
    job.removed = true;
    next.emplace(name, std::move(job));
  }
  jobs_ = std::move(next);
}

std::vector<std::string> Scheduler::take_due() {
  const WallTime now = clock_.wall();
  std::vector<Job*> due;
  for (auto& [name, job] : jobs_) {
    job.times.queued = false;
    if (phase(job) == JobPhase::kWaiting && job.times.next && *job.times.next <= now) {
      due.push_back(&job);
    }
  }
  std::stable_sort(due.begin(), due.end(),
                   [](const Job* a, const Job* b) { return *a->times.next < *b->times.next; });
  std::vector<std::string> started;
  for (Job* job : due) {
    if (running_ >= max_concurrent_) {
      job->times.queued = true;
      continue;
    }
    job->running = true;
    job->times.next.reset();
    job->times.next_is_retry = false;
    ++running_;
    started.push_back(job->plan.name);
  }
  return started;
}

void Scheduler::finished(const std::string& name, Ended how) {
  auto it = jobs_.find(name);
  if (it == jobs_.end() || !it->second.running) return;
  Job& job = it->second;
  job.running = false;
  --running_;
  if (job.removed) {
    jobs_.erase(it);
    return;
  }
  const WallTime now = clock_.wall();
  job.plan.last_ended = now;
  job.plan.last_succeeded = how == Ended::kSucceeded;
  if (how == Ended::kSucceeded) job.times.failures = 0;
  if (how == Ended::kFailed) ++job.times.failures;
  if (how != Ended::kFailed || job.retries >= job.plan.retry) {
    schedule_next(job, now);
    return;
  }
  auto backoff = kFirstRetry * (1 << std::min(job.retries, 20));
  if (now + backoff >= job.plan.schedule.next_after(now)) {  // the retry is the scheduled run
    schedule_next(job, now);
    return;
  }
  job.times.next = now + backoff;
  job.times.next_is_retry = true;
  ++job.retries;
}

bool Scheduler::start(const std::string& name) {
  auto it = jobs_.find(name);
  if (it == jobs_.end() || it->second.running || !it->second.plan.enabled) return false;
  it->second.paused = false;
  it->second.times.next = clock_.wall();
  return true;
}

bool Scheduler::pause(const std::string& name) {
  auto it = jobs_.find(name);
  if (it == jobs_.end()) return false;
  it->second.paused = true;
  it->second.times.next.reset();
  return true;
}

bool Scheduler::set_enabled(const std::string& name, bool enabled) {
  auto it = jobs_.find(name);
  if (it == jobs_.end()) return false;
  Job& job = it->second;
  if (job.plan.enabled == enabled) return true;
  job.plan.enabled = enabled;
  job.paused = false;
  if (enabled)
    job.times.next = first_time(job.plan, clock_.wall());
  else
    job.times.next.reset();
  return true;
}

JobPhase Scheduler::phase(const Job& job) {
  if (job.running) return JobPhase::kRunning;
  if (!job.plan.enabled) return JobPhase::kDisabled;
  if (job.paused) return JobPhase::kPaused;
  return JobPhase::kWaiting;
}

std::optional<JobTimes> Scheduler::times(const std::string& name) const {
  auto it = jobs_.find(name);
  if (it == jobs_.end()) return std::nullopt;
  JobTimes t = it->second.times;
  t.phase = phase(it->second);
  if (t.phase != JobPhase::kWaiting) t.next.reset();
  return t;
}

std::vector<std::string> Scheduler::names() const {
  std::vector<std::string> out;
  for (const auto& [name, job] : jobs_) {
    if (!job.removed) out.push_back(name);
  }
  return out;
}

}  // namespace depot::site

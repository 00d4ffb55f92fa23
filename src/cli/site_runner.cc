#include "cli/site_runner.h"

#include <algorithm>

#include "cli/target_options.h"
#include "mirror/engine.h"
#include "sources/registry.h"

namespace depot {
namespace {

// Gives every download of a run the run's cancel flag; once it is set, nothing new starts.
class CancellingDownloader final : public Downloader {
 public:
  CancellingDownloader(std::unique_ptr<Downloader> inner, std::shared_ptr<std::atomic<bool>> cancel)
      : inner_(std::move(inner)), cancel_(std::move(cancel)) {}
  void run(std::span<DownloadJob> jobs, const DoneFn& on_done,
           const ProgressFn& on_progress) override {
    if (cancel_->load()) {
      for (size_t i = 0; i < jobs.size(); ++i)
        on_done(i, make_error(ErrorCode::kRefused, "cancelled"));
      return;
    }
    for (DownloadJob& j : jobs) j.request.cancel = cancel_;
    inner_->run(jobs, on_done, on_progress);
  }

 private:
  std::unique_ptr<Downloader> inner_;
  std::shared_ptr<std::atomic<bool>> cancel_;
};

MirrorOptions mirror_options(const site::JobConfig& job) {
  const site::EngineSettings& e = job.engine;
  MirrorOptions o;
  o.kind = job.registry;
  o.upstream = job.upstream;
  o.index_grace = std::chrono::seconds(static_cast<int64_t>(e.index_grace_hours * 3600));
  o.download.fixed_concurrency = e.concurrency;
  o.download.max_concurrency = e.max_concurrency;
  o.download.initial_concurrency = std::min(o.download.initial_concurrency, e.max_concurrency);
  o.transfer_threads = static_cast<size_t>(e.threads);
  o.download.retry.max_attempts = e.file_retries + 1;
  o.download.connect_timeout =
      std::chrono::milliseconds(static_cast<int64_t>(e.connect_timeout * 1000));
  o.download.low_speed_time = std::chrono::seconds(static_cast<int64_t>(e.stall_timeout));
  o.no_delete = e.no_delete;
  o.delete_limit = e.delete_limit;
  const RegistryDescriptor* d = find_registry(job.registry);
  if (d != nullptr && d->mirror_trace) o.foreign_prefixes.push_back("project/trace/");
  return o;
}

site::RunOutcome outcome_of(const MirrorReport& r, bool cancelled) {
  site::RunOutcome o;
  o.exit_code = static_cast<int>(r.outcome);
  o.error = r.error;
  if (o.error.empty() && !r.failed.empty()) {
    o.error = r.failed.front().path + ": " + r.failed.front().reason;
    if (r.failed.size() > 1) o.error += " (and " + std::to_string(r.failed.size() - 1) + " more)";
  }
  o.files = r.files_downloaded;
  o.bytes = r.bytes_downloaded;
  o.total_files = r.files_total;
  o.total_bytes = r.bytes_total;
  o.cancelled = cancelled && r.outcome != MirrorOutcome::kComplete;
  return o;
}

class MirrorJobRunner final : public site::JobRunner {
 public:
  explicit MirrorJobRunner(Clock& clock) : clock_(clock) {}

  site::RunOutcome run(const site::JobConfig& job, const std::shared_ptr<std::atomic<bool>>& cancel,
                       Logger& log,
                       const std::function<void(const site::RunProgress&)>& progress) override {
    auto failed = [&](MirrorOutcome code, const Error& e) {
      MirrorReport r;
      r.outcome = code;
      r.error = e.message;
      log.error("mirror.failed", {{"job", job.name}, {"reason", e.message}});
      return outcome_of(r, false);
    };
    auto source = make_source(job.registry, job.source);
    if (!source.ok()) return failed(MirrorOutcome::kBadRequest, source.error());
    TargetArgs ta;
    ta.s3_endpoint = job.engine.s3_endpoint;
    ta.s3_region = job.engine.s3_region;
    ta.state_dir = job.engine.state_dir;
    auto target = open_target(job.dest, ta);
    if (!target.ok()) {
      return failed(target.error().code == ErrorCode::kInvalidArgument ? MirrorOutcome::kBadRequest
                                                                       : MirrorOutcome::kStorage,
                    target.error());
    }
    MirrorOptions opts = mirror_options(job);
    opts.state_dir = target->state_dir;
    if (target->pending_in_memory) {
      opts.batch.bytes = std::min<uint64_t>(opts.batch.bytes, 32ull << 20);
      opts.batch.max_queued = 1;
    }
    MirrorParts parts{**source, *target->target, [&](const DownloadOptions& o) {
                        return std::make_unique<CancellingDownloader>(
                            make_curl_downloader(o, clock_, log), cancel);
                      }};
    MirrorReport r = run_mirror(opts, parts, log, clock_, [&](const MirrorProgress& p) {
      progress({p.phase, p.files_done, p.files_total, p.bytes_done});
    });
    return outcome_of(r, cancel->load());
  }

 private:
  Clock& clock_;
};

}  // namespace

std::unique_ptr<site::JobRunner> make_mirror_job_runner(Clock& clock) {
  return std::make_unique<MirrorJobRunner>(clock);
}

}  // namespace depot

#include "cli/site_runner.h"

#include <algorithm>

#include <filesystem>

#include "cli/mirror_pass.h"
#include "site/upstream_trace.h"
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

site::RunOutcome outcome_of(const MirrorReport& r, bool cancelled, const std::string& name) {
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
  if (r.error.find("--force") != std::string::npos) {  // the engine speaks to `depot mirror`
    o.error += " (under depot run: `depot ctl start " + name + " --force` runs it once forced)";
  }
  return o;
}

class MirrorJobRunner final : public site::JobRunner {
 public:
  explicit MirrorJobRunner(Clock& clock) : clock_(clock) {}

  site::RunOutcome run(const site::JobConfig& job, const std::shared_ptr<std::atomic<bool>>& cancel,
                       Logger& log,
                       const std::function<void(const site::RunProgress&)>& progress) override {
    MirrorPass pass;
    pass.kind = job.registry;
    pass.dest = job.dest;
    pass.source = job.source;
    pass.options = engine_options(job.registry, job.upstream, job.engine);
    const RegistryDescriptor* d = find_registry(job.registry);
    if (d != nullptr && d->mirror_trace) pass.options.foreign_prefixes.push_back("project/trace/");
    pass.target.s3_endpoint = job.engine.s3_endpoint;
    pass.target.s3_region = job.engine.s3_region;
    pass.target.state_dir = job.engine.state_dir;
    const bool traced = site::keeps_traces(job);
    MirrorReport r = run_mirror_pass(
        pass, log, clock_,
        [&](const MirrorProgress& p) {
          progress({p.phase, p.files_done, p.files_total, p.bytes_done});
        },
        [&](std::unique_ptr<Downloader> inner) {
          return std::make_unique<CancellingDownloader>(std::move(inner), cancel);
        });
    if (traced && r.outcome == MirrorOutcome::kComplete && !cancel->load()) {
      // Before the site writes its own trace, which reads master and _hierarchy.mirror.
      auto downloader = make_curl_downloader(DownloadOptions{}, clock_, log);
      auto copied = site::copy_upstream_traces(
          *downloader, job.upstream, std::filesystem::path(job.dest) / "project" / "trace", log,
          cancel);
      if (!copied.ok()) {
        log.warn("site.upstream_traces_failed", {{"error", copied.error().message}});
      }
    }
    return outcome_of(r, cancel->load(), job.name);
  }

 private:
  Clock& clock_;
};

}  // namespace

std::unique_ptr<site::JobRunner> make_mirror_job_runner(Clock& clock) {
  return std::make_unique<MirrorJobRunner>(clock);
}

}  // namespace depot

#include "cli/mirror_pass.h"

#include <algorithm>

namespace depot {

MirrorOptions engine_options(const std::string& kind, const std::string& upstream,
                             const site::EngineSettings& e) {
  MirrorOptions o;
  o.kind = kind;
  o.upstream = upstream;
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
  o.force = e.force;
  return o;
}

MirrorReport run_mirror_pass(const MirrorPass& pass, Logger& logger, Clock& clock,
                             const std::function<void(const MirrorProgress&)>& progress,
                             const DownloaderWrap& wrap) {
  auto failed = [&](MirrorOutcome outcome, const Error& e) {
    logger.error("mirror.failed", {{"reason", e.message}, {"code", static_cast<int>(outcome)}});
    MirrorReport r;
    r.outcome = outcome;
    r.error = e.message;
    return r;
  };
  SourceOptions source_opts = pass.source;
  if (pass.options.force) source_opts.values["allow-older"] = "yes";
  auto source = make_source(pass.kind, source_opts);
  if (!source.ok()) return failed(MirrorOutcome::kBadRequest, source.error());
  auto target = open_target(pass.dest, pass.target);
  if (!target.ok()) {
    return failed(target.error().code == ErrorCode::kInvalidArgument ? MirrorOutcome::kBadRequest
                                                                      : MirrorOutcome::kStorage,
                  target.error());
  }
  MirrorOptions opts = pass.options;
  opts.state_dir = target->state_dir;
  if (target->pending_in_memory) {
    // Memory, not disk, holds the waiting batches: one waits while another commits.
    opts.batch.bytes = std::min<uint64_t>(opts.batch.bytes, 32ull << 20);
    opts.batch.max_queued = 1;
  }
  MirrorParts parts{**source, *target->target, [&](const DownloadOptions& o) {
                      auto d = make_curl_downloader(o, clock, logger);
                      return wrap ? wrap(std::move(d)) : std::move(d);
                    }};
  return run_mirror(opts, parts, logger, clock, progress);
}

}  // namespace depot

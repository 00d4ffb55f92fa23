// CacheService and its shared tier (CacheTier): blobs missing locally are read from the tier
// before upstream; blobs fetched upstream are copied to it (TierWriter).

#include "serve/cache_fetch.h"
#include "serve/cache_service.h"
#include "serve/file_class.h"
#include "serve/request_path.h"
#include "serve/tier_writer.h"
#include "serve/upstream_pool.h"

namespace depot {

void CacheService::start_tier(const ServiceOptions& options) {
  DownloadOptions read = options.download;
  // The tier is near and a spare: a failing tier is left quickly for upstream.
  read.retry.max_attempts = std::min(read.retry.max_attempts, 2);
  read.connect_timeout = std::min(read.connect_timeout, std::chrono::milliseconds(3000));
  options.tier->configure(read);
  tier_pool_ = std::make_unique<UpstreamPool>(options.tier_readers, read, clock_, log_);
  tier_health_ = std::make_unique<UpstreamHealth>(options.health, clock_);
  CacheStore* store = store_.get();
  std::filesystem::path files = opts_.cache_dir / "files";
  auto open = [store, files](const std::string& key) -> Result<std::unique_ptr<ByteSource>> {
    DEPOT_ASSIGN_OR_RETURN(OpenedFile f, open_beneath(store->files_dir_fd(), key));
    return fd_source(std::move(f.fd), (files / key).string());
  };
  tier_writer_ = std::make_unique<TierWriter>(*options.tier, std::move(open), options.tier_writers,
                                              options.tier_queue, metrics_, log_);
}

bool CacheService::tier_first(FileClass cls, bool whole) const {
  return opts_.tier && !whole && cls == FileClass::kBlob && !tier_health_->circuit_open();
}

void CacheService::start(const std::shared_ptr<Fetch>& f) {
  metrics_.inflight_downloads++;
  if (!f->from_tier) return start_upstream(f);
  FetchRequest read = f->request;  // the digests and size it must have, and its cancel flag
  read.url = f->tier_url;
  read.accept.clear();
  log_.debug("tier_fetch", {{"path", f->key}, {"url", read.url}});
  tier_pool_->submit(std::move(read), f->download.get(),
                     [this, f](const Result<FetchResult>& r) { finish(f, r); });
}

void CacheService::start_upstream(const std::shared_ptr<Fetch>& f) {
  metrics_.upstream_requests++;
  log_.debug("upstream_fetch", {{"path", f->key}, {"url", f->request.url}});
  pool_->submit(f->request, f->download.get(),
                [this, f](const Result<FetchResult>& r) { finish(f, r); });
}

bool CacheService::tier_took_over(const std::shared_ptr<Fetch>& f, const Result<FetchResult>& r) {
  f->from_tier = false;  // only this worker thread touches the fetch now
  if (r.ok()) {
    metrics_.tier_hits++;
    f->tier_hit = true;
    tier_health_->on_success(f->key);
    log_.debug("tier_hit", {{"path", f->key}});
    return false;
  }
  const Error& e = r.error();
  if (e.code == ErrorCode::kRefused && f->request.cancel->load()) return false;  // every client left
  if (e.code == ErrorCode::kNotFound) {
    metrics_.tier_misses++;
  } else if (e.code != ErrorCode::kRefused) {  // kRefused: no tier worker in time
    metrics_.tier_errors++;
    tier_health_->on_unreachable();  // reads skip the tier for the cooldown
    log_.warn("cache_tier_read_failed", {{"path", f->key},
                                         {"object", opts_.tier->describe(f->key)},
                                         {"error", e.message}});
  }
  const UpstreamHealth& health = *health_[f->upstream];
  auto path_failed = health.path_failure(f->key);
  if (health.circuit_open() || path_failed) {
    metrics_.inflight_downloads--;
    forget(f);
    store_->discard_partial(std::move(f->partial));
    f->download->finish_failed(
        path_failed ? path_failed->status : 502,
        path_failed ? "upstream failed for this path moments ago: " + path_failed->message
                    : "upstream " + opts_.upstreams[f->upstream].url +
                          " is failing; not asking again for a while");
    return true;
  }
  // Bytes the tier sent are compared with upstream's (replay), never written twice.
  if (f->download->bytes_written() > 0) (void)f->download->reset();
  start_upstream(f);
  return true;
}

void CacheService::offer_to_tier(const Fetch& f, const CachedMeta& meta) {
  if (meta.sha256.empty()) return;
  tier_writer_->submit(TierWriter::Item{f.key, meta.sha256, meta.size});
}

}  // namespace depot

#pragma once
// CacheService: decides how `depot serve` answers a request for a path — from the served tree
// (MIRROR), from the cache (HIT / REVALIDATED / STALE), or by one shared upstream download (MISS /
// COALESCED) — following the freshness class of the file and the generation of its signed root.
// Thread-safe: resolve() is called concurrently by every server thread.

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/logger.h"
#include "core/result.h"
#include "core/unique_fd.h"
#include "serve/cache_store.h"
#include "serve/answer.h"
#include "serve/download.h"
#include "serve/metrics.h"
#include "serve/open_file_cache.h"
#include "serve/page_rewrite.h"
#include "serve/pool_index.h"
#include "serve/root_index.h"
#include "transfer/downloader.h"

namespace depot {

class UpstreamPool;

struct ServiceOptions {
  std::filesystem::path root;
  std::vector<UpstreamConfig> upstreams;
  std::filesystem::path cache_dir;  // empty: <root>/.depot-cache
  uint64_t cache_size = 0;          // 0: unlimited
  std::chrono::seconds index_ttl{300};
  std::chrono::seconds negative_ttl{60};
  std::chrono::seconds circuit_cooldown{30};
  bool autoindex = false;
  // Open descriptors of served-tree blobs (.deb, .rpm, by-hash files, ...: never replaced in
  // place) are reused for this long, like nginx's open_file_cache. Indexes and roots are always
  // opened afresh. 0: off.
  std::chrono::milliseconds open_file_ttl{1000};
  int upstream_workers = 16;
  DownloadOptions download;         // retry policy, timeouts, user agent for upstream fetches
};

struct ServeRequest {
  std::string rel;             // from parse_request_target
  bool trailing_slash = false;
  std::string accept;          // the client's Accept header
};

class CacheService {
 public:
  static Result<std::unique_ptr<CacheService>> create(const ServiceOptions& options,
                                                      ServeMetrics& metrics, Logger& logger);
  ~CacheService();

  using Later = std::function<void(Answer)>;
  // Answers at once when no upstream is involved; otherwise returns nullopt and calls `later`
  // exactly once, possibly on another thread (possibly before resolve returns).
  std::optional<Answer> resolve(const ServeRequest& request, const Later& later);

  // Periodic housekeeping (about once a second): persists the LRU order, refreshes gauges.
  void tick();

 private:
  struct Circuit {
    std::atomic<int64_t> open_until{0};  // steady ns
  };
  struct Fetch;

  CacheService(const ServiceOptions& options, ServeMetrics& metrics, Logger& logger);
  std::optional<Answer> resolve_local(const ServeRequest& request, bool* fall_through);
  std::optional<Answer> resolve_cached(const ServeRequest& request, const Later& later);
  std::optional<NamedIndex> named_by_root(const std::string& key);
  // The stored file `key` as an answer; `meta` is its metadata when the caller already looked
  // it up (else it is looked up here). nullopt when the file is gone.
  std::optional<Answer> open_cached(const std::string& key, CacheOutcome outcome, bool stale,
                                    const CachedMeta* meta = nullptr);
  std::optional<Answer> fetch(const std::string& key, size_t upstream, const std::string& accept,
                              std::optional<NamedIndex> expected,
                              const std::optional<CachedMeta>& cached, const Later& later);
  void finish(const std::shared_ptr<Fetch>& fetch, const Result<FetchResult>& result);
  void forget(const std::shared_ptr<Fetch>& fetch);  // drops it from inflight_
  std::filesystem::path cache_path(const std::string& key) const;
  // Rewrites a fetched simple page into a new partial and records its file digests.
  bool rewrite_page(const std::shared_ptr<Fetch>& fetch, const FetchResult& result);
  std::optional<NamedIndex> page_digest(const std::string& key);
  Answer answer_from(const std::shared_ptr<Download>& d, const std::string& key,
                     CacheOutcome outcome, bool have_cached, bool stale_ok);
  void evict_root_siblings(const std::string& key);
  bool negative(const std::string& key);
  bool circuit_open(size_t upstream) const;

  ServiceOptions opts_;
  OpenFileCache open_files_;
  ServeMetrics& metrics_;
  Logger& log_;
  UniqueFd root_fd_;
  std::unique_ptr<CacheStore> store_;
  std::unique_ptr<UpstreamPool> pool_;
  RootIndex roots_;
  PoolIndex packages_;  // package digests from the indexes that passed through
  std::jthread relearn_;  // reads the package indexes already cached at start
  std::vector<std::unique_ptr<Circuit>> circuits_;
  std::mutex mu_;  // guards inflight_ and negative_
  std::map<std::string, std::shared_ptr<Download>, std::less<>> inflight_;
  std::map<std::string, std::chrono::steady_clock::time_point, std::less<>> negative_;
  std::map<std::string, std::string, std::less<>> page_digests_;  // rel -> sha256 from pages
};

}  // namespace depot

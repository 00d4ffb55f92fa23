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
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/logger.h"
#include "core/result.h"
#include "core/unique_fd.h"
#include "serve/answer.h"
#include "serve/cache_store.h"
#include "serve/cache_tier.h"
#include "serve/download.h"
#include "serve/file_class.h"
#include "serve/metrics.h"
#include "serve/open_file_cache.h"
#include "serve/page_rewrite.h"
#include "serve/pool_index.h"
#include "serve/prefetcher.h"
#include "serve/proxy_target.h"
#include "serve/root_index.h"
#include "serve/upstream_health.h"
#include "serve/usage_table.h"
#include "transfer/downloader.h"

namespace depot {

class TierWriter;
class UpstreamPool;

struct ServiceOptions {
  std::filesystem::path root;
  std::vector<UpstreamConfig> upstreams;
  std::filesystem::path cache_dir;  // empty: <root>/.depot-cache
  uint64_t cache_size = 0;          // 0: unlimited
  std::chrono::seconds index_ttl{300};
  std::chrono::seconds negative_ttl{60};
  HealthOptions health;             // circuit breaker and per-path failure memory
  // A miss that found every upstream worker busy for this long is answered 503 with
  // Retry-After (or from a stale copy).
  std::chrono::seconds upstream_queue_timeout{10};
  std::chrono::seconds retry_after{5};  // Retry-After of those 503s
  // A download every client gave up on is finished for the cache when, at its rate so far, it
  // would end within this time; otherwise it is cancelled.
  std::chrono::seconds abandoned_finish{30};
  bool autoindex = false;
  // The forward proxy: each allow-listed host becomes one more upstream, prefix
  // "_proxy/<authority>", URL "http://<authority>" (added by create()).
  ProxyOptions proxy;
  // The URL clients reach this server at (documents such as crates' config.json name it);
  // "": http:// and each request's Host header.
  std::string public_url;
  // Open descriptors of served-tree files are reused for this long, like nginx's
  // open_file_cache: blobs (.deb, .rpm, by-hash files, ...: never replaced in place) as they are,
  // indexes and roots only while a stat of the path finds the same file. 0: off.
  std::chrono::milliseconds open_file_ttl{1000};
  // The served tree's files may be replaced or removed in place whatever their name (a storage
  // node's API writes it): open-file cache entries of blobs are then checked like indexes'.
  bool mutable_tree = false;
  int upstream_workers = 16;
  DownloadOptions download;         // retry policy, timeouts, user agent for upstream fetches
  // A shared second tier for blobs (see CacheTier), or null. Not owned; outlives the service.
  CacheTier* tier = nullptr;
  int tier_readers = 8;             // workers reading blobs from the tier
  int tier_writers = 4;             // threads copying blobs to the tier
  size_t tier_queue = 10000;        // blobs waiting to be copied, at most
  Clock* clock = nullptr;           // null: the system clock
  // Usage-driven prefetch: when a package index read again names files new to it, those of
  // packages clients asked for within `prefetch_window` are fetched ahead of them (usage is kept
  // in <cache_dir>/usage.db). A budget of 0: off, and no use is counted.
  PrefetchOptions prefetch;
  std::chrono::seconds prefetch_window{std::chrono::hours(24 * 30)};
};

struct ServeRequest {
  std::string rel;             // from parse_request_target
  bool trailing_slash = false;
  std::string accept;          // the client's Accept header
  std::string host;            // the client's Host header (untrusted)
  bool prefetch = false;       // a fetch ahead of clients: no use of a package, no prefetch hit
  // The age of a root or unnamed index the client accepts (its Cache-Control, see
  // client_max_age), never below ProxyOptions::revalidate_after; nullopt: --index-ttl alone.
  // Blobs and indexes checked against their root ignore it.
  std::optional<int64_t> max_age;
};

// A request waiting for its upstream answer. cancel() when its client went away: the request's
// `later` is dropped uncalled (unless it already ran), and with it the client's interest in the
// download. Thread-safe, idempotent.
class PendingAnswer {
 public:
  PendingAnswer(std::shared_ptr<Download> download, uint64_t waiter)
      : download_(std::move(download)), waiter_(waiter) {}
  void cancel() { download_->unwait(waiter_); }

 private:
  std::shared_ptr<Download> download_;
  uint64_t waiter_;
};

class CacheService {
 public:
  static Result<std::unique_ptr<CacheService>> create(const ServiceOptions& options,
                                                      ServeMetrics& metrics, Logger& logger);
  ~CacheService();

  using Later = std::function<void(Answer)>;
  // Answers at once when no upstream is involved; otherwise returns nullopt and calls `later`
  // exactly once, possibly on another thread (possibly before resolve returns), unless the
  // request is cancelled through `*pending` (set when nullopt is returned and `pending` given).
  std::optional<Answer> resolve(const ServeRequest& request, const Later& later,
                                std::shared_ptr<PendingAnswer>* pending = nullptr);

  const ProxyOptions& proxy() const { return opts_.proxy; }
  const std::string& public_url() const { return opts_.public_url; }

  // Periodic housekeeping (about once a second): persists the LRU order, refreshes gauges,
  // fails misses that waited too long for an upstream worker, forgets old path failures,
  // starts and finishes prefetches.
  void tick();

  // Uses of packages `names` below the upstream whose prefix is `scope` (a client's report of
  // what it has installed). kRefused when prefetch is off, kNotFound for an unknown scope.
  Status record_usage(std::string_view scope, const std::vector<std::string>& names);

 private:
  struct Fetch;

  CacheService(const ServiceOptions& options, ServeMetrics& metrics, Logger& logger);
  std::optional<Answer> resolve_local(const ServeRequest& request, bool* fall_through);
  // `route`: the document the request is routed to (PathRules::cache_route) below upstream
  // `up`, kept and fetched where it says.
  std::optional<Answer> resolve_cached(const ServeRequest& request, const Later& later,
                                       std::shared_ptr<PendingAnswer>* pending,
                                       const CacheRoute* route = nullptr);
  std::optional<NamedIndex> named_by_root(const std::string& key);
  // The upstream serving `rel` (longest prefix), or opts_.upstreams.size() for none.
  size_t upstream_of(std::string_view rel) const;
  // Documents (PathRules::is_document, cache_routes, cache_documents.cc): the registry
  // rewriting `key` below upstream `up`'s prefix, or null; a document's answer rewritten for
  // `request`, kept and fetched where `route` says when given.
  const RegistryDescriptor* document_rules(std::string_view key, size_t up) const;
  std::optional<Answer> resolve_document(const ServeRequest& request, size_t up,
                                         const RegistryDescriptor& rules, const Later& later,
                                         std::shared_ptr<PendingAnswer>* pending,
                                         const CacheRoute* route);
  // A request below upstream `up` that its registry routes, refuses or rewrites; nullopt with
  // *handled false when it is an ordinary cached file.
  std::optional<Answer> resolve_registry(const ServeRequest& request, size_t up,
                                         const Later& later,
                                         std::shared_ptr<PendingAnswer>* pending, bool* handled);
  // Where the cached documents place blob `key` (PathRules::blob_origin), with its digests.
  std::optional<BlobOrigin> blob_origin(const std::string& key, size_t up);
  std::optional<std::string> read_cached(const std::string& key, uint64_t max_size);
  // The stored file `key` as an answer; `meta` is its metadata when the caller already looked
  // it up (else it is looked up here). nullopt when the file is gone.
  std::optional<Answer> open_cached(const std::string& key, CacheOutcome outcome, bool stale,
                                    const CachedMeta* meta = nullptr);
  std::optional<Answer> fetch(const std::string& key, size_t upstream, const std::string& accept,
                              std::optional<NamedIndex> expected,
                              const std::optional<CachedMeta>& cached, const Later& later,
                              std::shared_ptr<PendingAnswer>* pending,
                              const std::string& origin_url = {});
  // Starts a new fetch: from the tier when it may hold the blob, else upstream.
  void start(const std::shared_ptr<Fetch>& fetch);
  void start_upstream(const std::shared_ptr<Fetch>& fetch);
  // Shared tier (cache_tier_flow.cc): whether a miss of a file of class `cls` (`whole`: read
  // before it is served) asks the tier first.
  bool tier_first(FileClass cls, bool whole) const;
  // A tier read ended: true when it handled the result (asked upstream instead, or failed the
  // download); false when the tier's answer stands (finish() goes on).
  bool tier_took_over(const std::shared_ptr<Fetch>& fetch, const Result<FetchResult>& result);
  // Queues a blob just stored from upstream for the tier.
  void offer_to_tier(const Fetch& fetch, const CachedMeta& meta);
  void start_tier(const ServiceOptions& options);
  void finish(const std::shared_ptr<Fetch>& fetch, const Result<FetchResult>& result);
  void finish_failed(const std::shared_ptr<Fetch>& fetch, const Error& error);
  // Every client of the download gave up: finish it for the cache or cancel it.
  void abandoned(const std::weak_ptr<Fetch>& fetch);
  bool worth_finishing(const Fetch& fetch, const Download::Snapshot& snap) const;
  void forget(const std::shared_ptr<Fetch>& fetch);  // drops it from inflight_
  std::filesystem::path cache_path(const std::string& key) const;
  // Rewrites a fetched simple page into a new partial and records its file digests.
  bool rewrite_page(const std::shared_ptr<Fetch>& fetch, const FetchResult& result);
  std::optional<NamedIndex> page_digest(const std::string& key);
  Answer answer_from(const std::shared_ptr<Download>& d, const std::string& key,
                     CacheOutcome outcome, bool have_cached, bool stale_ok);
  void evict_root_siblings(const std::string& key);
  bool negative(const std::string& key);
  // Usage-driven prefetch (cache_prefetch.cc).
  class PrefetchAdapter;
  Status start_prefetch();
  // The package the file `key`, below upstream `up`, belongs to, if any.
  std::optional<std::string> package_of(std::string_view key, size_t up) const;
  // A client's request below upstream `up`: a use of a package, and maybe a prefetch hit.
  void note_request(const ServeRequest& request, size_t up);
  void prefetch_new_files(const std::string& index_key, const NamedFiles& added);
  void prefetch_tick();

  ServiceOptions opts_;
  Clock& clock_;
  OpenFileCache open_files_;
  ServeMetrics& metrics_;
  Logger& log_;
  UniqueFd root_fd_;
  std::unique_ptr<CacheStore> store_;
  std::unique_ptr<UpstreamPool> pool_;
  std::unique_ptr<UpstreamPool> tier_pool_;      // reads of the shared tier, when there is one
  std::unique_ptr<UpstreamHealth> tier_health_;  // its circuit: reads skip a failing tier
  std::unique_ptr<TierWriter> tier_writer_;
  RootIndex roots_;
  PoolIndex packages_;  // package digests from the indexes that passed through
  std::jthread relearn_;  // reads the package indexes already cached at start
  std::vector<std::unique_ptr<UpstreamHealth>> health_;  // one per upstream
  std::mutex mu_;  // guards inflight_ and negative_
  std::map<std::string, std::shared_ptr<Download>, std::less<>> inflight_;
  std::map<std::string, std::chrono::steady_clock::time_point, std::less<>> negative_;
  std::map<std::string, std::string, std::less<>> page_digests_;  // rel -> sha256 from pages
  std::set<std::string, std::less<>> page_families_;  // directories with a page read
  std::unique_ptr<UsageTable> usage_;  // these three: set when prefetch is on
  std::unique_ptr<PrefetchTarget> prefetch_target_;  // a PrefetchAdapter
  std::unique_ptr<Prefetcher> prefetcher_;
  SteadyTime usage_flushed_{};  // tick()'s thread only
};

}  // namespace depot

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
#include <vector>

#include "core/logger.h"
#include "core/result.h"
#include "core/unique_fd.h"
#include "serve/cache_store.h"
#include "serve/download.h"
#include "serve/metrics.h"
#include "serve/page_rewrite.h"
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
  // Open descriptors of served-tree files are reused for this long (like nginx's
  // open_file_cache): a replaced file may be served in its old version for that long. 0: off.
  std::chrono::milliseconds open_file_ttl{1000};
  int upstream_workers = 16;
  DownloadOptions download;         // retry policy, timeouts, user agent for upstream fetches
};

struct ServeRequest {
  std::string rel;             // from parse_request_target
  bool trailing_slash = false;
  std::string accept;          // the client's Accept header
};

// An open file kept alive for as long as the answer is being sent.
struct OpenBody {
  UniqueFd fd;
  CacheStore::Pin pin;
  std::shared_ptr<Download> download;  // keeps a finished download's file alive
};

// A served-tree file as the open-file cache keeps it: its header fields rendered once, and the
// body itself when it is small. Immutable once built; shared between threads.
struct PreparedFile {
  std::string content_type, etag, last_modified;
  // "Content-Type: ...\r\nETag: ...\r\nLast-Modified: ...\r\nAccept-Ranges: bytes\r\n"
  // "X-Depot-Cache: MIRROR\r\nContent-Length: N\r\n"
  std::string fields;
  bool has_bytes = false;
  std::string bytes;  // the whole body when has_bytes
};

struct Answer {
  enum class Kind {
    kFile,      // a complete file: body->fd, size, mtime
    kStream,    // a download in progress: follow `download` (Content-Length = size)
    kText,      // a generated body (listing): text
    kRedirect,  // 301 to `location`
    kError,     // status + text (a short message)
  };
  Kind kind = Kind::kError;
  int status = 200;
  CacheOutcome outcome = CacheOutcome::kNone;
  bool stale = false;
  std::shared_ptr<OpenBody> body;
  std::shared_ptr<Download> download;
  uint64_t size = 0;
  int64_t mtime = 0;  // seconds; 0 when unknown
  std::string content_type;
  std::string etag;   // set for kFile; for kStream when upstream declared Last-Modified
  std::string last_modified;
  std::string text;
  std::string location;
  // Set for open-file cache hits; content_type/etag/last_modified are then empty here and
  // live in `prepared`.
  std::shared_ptr<const PreparedFile> prepared;
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
  std::optional<Answer> open_cached(const std::string& key, CacheOutcome outcome, bool stale);
  std::optional<Answer> fetch(const std::string& key, size_t upstream, const std::string& accept,
                              std::optional<NamedIndex> expected,
                              const std::optional<CachedMeta>& cached, const Later& later);
  void finish(const std::shared_ptr<Fetch>& fetch, const Result<FetchResult>& result);
  void forget(const std::shared_ptr<Fetch>& fetch);  // drops it from inflight_
  // Rewrites a fetched simple page into a new partial and records its file digests.
  bool rewrite_page(const std::shared_ptr<Fetch>& fetch, const FetchResult& result);
  std::optional<NamedIndex> page_digest(const std::string& key);
  Answer answer_from(const std::shared_ptr<Download>& d, const std::string& key,
                     CacheOutcome outcome, bool have_cached, bool stale_ok);
  void evict_root_siblings(const std::string& key);
  bool negative(const std::string& key);
  bool circuit_open(size_t upstream) const;

  std::optional<Answer> open_file_cached(const std::string& rel);
  void remember_open_file(const std::string& rel, const Answer& answer);

  const uint64_t id_;  // tells this service's entries in the per-thread open-file cache
  ServiceOptions opts_;
  ServeMetrics& metrics_;
  Logger& log_;
  UniqueFd root_fd_;
  std::unique_ptr<CacheStore> store_;
  std::unique_ptr<UpstreamPool> pool_;
  RootIndex roots_;
  std::vector<std::unique_ptr<Circuit>> circuits_;
  std::mutex mu_;  // guards inflight_ and negative_
  std::map<std::string, std::shared_ptr<Download>, std::less<>> inflight_;
  std::map<std::string, std::chrono::steady_clock::time_point, std::less<>> negative_;
  std::map<std::string, std::string, std::less<>> page_digests_;  // rel -> sha256 from pages
};

}  // namespace depot

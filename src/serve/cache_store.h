#pragma once
// CacheStore: the files of the pull-through cache and their metadata, with a size cap enforced
// by least-recently-used eviction that never evicts a pinned file.
//
// Layout under Options::dir:
//   files/<rel>    cached bodies, <rel> as given by the caller (a RelPath-valid string)
//   partial/       downloads in progress (removed at open: a crash leaves nothing behind)
//   cache.db       SQLite: one row per cached file (metadata + last access time)
//   lock           held (flock) by the one process using the directory
// Thread-safe: every method may be called from any thread (one internal mutex; SQLite is only
// touched under it, and never on the lookup/pin fast path except through flush_access_times).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/logger.h"
#include "core/result.h"
#include "core/unique_fd.h"

namespace depot {

struct CachedMeta {
  uint64_t size = 0;
  std::string sha256;         // lowercase hex of the body
  std::string etag;           // upstream validators for conditional requests ("" when absent)
  std::string last_modified;
  std::string content_type;   // as upstream sent it ("" when absent)
  int64_t fetched_at = 0;     // unix seconds: when the body was stored
  int64_t validated_at = 0;   // unix seconds: last time upstream confirmed it (= fetched_at at first)
};

class CacheStore {
 public:
  struct Options {
    std::filesystem::path dir;
    uint64_t max_bytes = 0;  // 0: unlimited
  };

  // Takes the directory's lock (kRefused naming the directory when another process holds it),
  // creates the layout if missing, migrates cache.db, empties partial/, and reconciles:
  // rows whose file is missing or has another size are dropped, files under files/ without a
  // row are deleted (empty directories are left), then the cache is evicted down to max_bytes.
  // Logs one "cache_opened" event with files/bytes/dropped counts.
  static Result<std::unique_ptr<CacheStore>> open(const Options& options, Logger& logger);
  ~CacheStore();  // flushes access times

  // Directory fd of files/, for open_beneath().
  int files_dir_fd() const;

  // Metadata of a stored file; counts as a use for LRU. nullopt when not cached.
  std::optional<CachedMeta> lookup(std::string_view rel);

  // While a Pin lives its file is never evicted (remove() still works: an upstream 404 wins).
  // Pins nest; a Pin of a path that is not cached is valid and harmless. Movable.
  class Pin {
   public:
    Pin() = default;
    Pin(Pin&& o) noexcept;
    Pin& operator=(Pin&& o) noexcept;
    Pin(const Pin&) = delete;
    Pin& operator=(const Pin&) = delete;
    ~Pin();

   private:
    friend class CacheStore;
    Pin(CacheStore* store, std::string rel) : store_(store), rel_(std::move(rel)) {}
    CacheStore* store_ = nullptr;
    std::string rel_;
  };
  Pin pin(std::string_view rel);

  // A new empty file under partial/ (O_RDWR | O_CLOEXEC, mode 0644), for one download.
  struct Partial {
    UniqueFd fd;
    std::string name;  // file name under partial/
  };
  Result<Partial> create_partial();
  // Unlinks a partial that will not be committed. Never fails.
  void discard_partial(Partial&& partial);

  // Atomically replaces files/<rel> with the partial's bytes (renameat; parent directories are
  // created beneath files/ without following symlinks), records `meta` (meta.size must equal the
  // file size, else kInternal and the partial is discarded), and then evicts least-recently-used
  // unpinned files until the total is within max_bytes. The file just stored counts as most
  // recently used. Errors (e.g. a path component that is a file) discard the partial and leave
  // any previous version in place.
  Status commit(Partial&& partial, std::string_view rel, const CachedMeta& meta);

  // Records that upstream confirmed `rel` (a 304): new validators (empty keeps the old one) and
  // validated_at. kNotFound when not cached.
  Status mark_validated(std::string_view rel, std::string_view etag,
                        std::string_view last_modified, int64_t validated_at);

  // Removes the file and its row (upstream said 404/410, or the copy is no longer valid).
  // Not cached: ok.
  Status remove(std::string_view rel);

  uint64_t total_bytes() const;
  uint64_t file_count() const;
  // Every stored path (with its sha256) for which `keep` returns true; `keep` runs under the
  // store's lock and must be cheap. Does not count as a use.
  std::vector<std::pair<std::string, std::string>> find_paths(
      const std::function<bool(std::string_view)>& keep) const;
  uint64_t evictions() const;   // files removed by the size cap since open
  uint64_t max_bytes() const;

  // Persists the LRU order (last access times of entries used since the last flush) in one
  // transaction. The server calls it every few seconds; the destructor calls it too.
  Status flush_access_times();

  struct Impl;

 private:
  explicit CacheStore(std::unique_ptr<Impl> impl);
  void unpin(const std::string& rel);
  std::unique_ptr<Impl> impl_;
};

}  // namespace depot

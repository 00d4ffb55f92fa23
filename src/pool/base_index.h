#pragma once
// BaseIndexCache: the packages of repositories' base distributions (BaseSpec), read from the
// apt indexes of an archive in a directory (e.g. one `depot mirror apt` made) or over http(s).
//
// For each component and architecture: dists/<dist>/InRelease (else Release) names
// <comp>/binary-<arch>/Packages{.xz,.gz,} with its sha256; the first variant that can be read
// is checked against it, decompressed and parsed (sources/apt). A parsed index is kept per
// (url, dist, component, arch) and used again while the Release lists the same sha256 for it,
// so a promote reads the small Release and not a 60 MB index each time. Release signatures are
// not checked (the base is trusted as configured).
//
// Thread-safe: one mutex, held while loading (loads are serialized).

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "core/logger.h"
#include "core/result.h"
#include "pool/pool_store.h"

namespace depot::pool {

// The packages of one index: name, version, architecture and Provides (other fields dropped);
// ids are negative and unique within the cache, so they never collide with pool ids.
using BasePackages = std::vector<StoredPackage>;

class BaseIndexCache {
 public:
  explicit BaseIndexCache(Logger& logger) : log_(logger) {}

  // The indexes of `base` for each of `archs` (binary-<arch>, whose arch "all" packages come
  // along); an architecture the Release does not list is skipped. A base that cannot be read
  // (no Release, an index listed but missing, a checksum mismatch, a parse error) is an error
  // naming the URL or file and the cause.
  Result<std::vector<std::shared_ptr<const BasePackages>>> load(
      const BaseSpec& base, const std::vector<std::string>& archs);

  struct Stats {
    uint64_t indexes_read = 0;  // Packages files fetched and parsed
    uint64_t cache_hits = 0;    // indexes answered from the cache
  };
  Stats stats() const;

 private:
  using Key = std::tuple<std::string, std::string, std::string, std::string>;
  struct Entry {
    std::string sha256;  // of the index as the Release lists it
    std::shared_ptr<const BasePackages> packages;
  };

  mutable std::mutex mu_;
  Logger& log_;
  std::map<Key, Entry> entries_;
  int64_t next_id_ = -1;
  Stats stats_;
};

// Parses a (possibly compressed) Packages index; `name` (URL or file) leads errors. Each
// package gets id first_id, first_id - 1, ... (first_id < 0).
Result<BasePackages> parse_base_packages(std::string_view bytes, const std::string& name,
                                         int64_t first_id);

}  // namespace depot::pool

#pragma once
// Atomic publication of a hosted repository as an apt repository root.
//
//   <public>/<repo>                          symlink -> .generations/<repo>/<n>
//   <public>/.generations/<repo>/<n>/        dists/<repo>/..., and pool -> ../pool
//   <public>/.generations/<repo>/<n>.files   the pool files generation n names:
//                                            "<sha256> pool/<component>/..." per line
//   <public>/.generations/<repo>/pool/       <component>/...: hard links into the
//                                            content-addressed pool, shared by the generations
//
// A new generation is written beside the current one (its new pool files linked into the
// shared pool first), synced, and switched with one rename of the symlink. Clients that
// fetched an InRelease of an earlier generation keep finding its files: for `grace` after a
// generation stops being current its by-hash indexes are linked into every newer generation
// and its pool files stay; after that its pool files that no live generation names are
// unlinked and it is deleted. A failure at any step before the switch leaves the current
// publication untouched and removes the partial one; one a crash left (a generation above the
// current one) is removed by the next publication, which also sweeps the shared pool of links
// no live generation names. (Generations written before the shared
// pool, with a pool/ directory of their own, have their pool files linked into the shared pool
// while they are within grace.)
// Files under dists/ get an mtime later than the current generation's (a second in the future
// when publications follow each other within a second), so If-Modified-Since revalidation
// never mistakes a new index for the old one.
// Not thread-safe: one publisher per repository at a time (the daemon's mutation lane).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "pool/apt_index.h"
#include "pool/pool_store.h"

namespace depot::pool {

struct PublishSettings {
  std::filesystem::path public_dir;        // <root>/public
  std::string component = "main";
  std::string origin = "depot";
  std::string label;                       // default: the repository name
  std::vector<std::string> architectures;  // empty: those of the packages
  PublishOptions index;                    // compression, signing, chunk cache, work pool
  std::chrono::seconds grace{3600};
};

struct PublishReport {
  uint64_t generation = 0;
  uint64_t packages = 0;
  uint64_t index_files = 0;     // under dists/
  uint64_t pool_links = 0;      // pool files linked into the shared pool by this publication
  uint64_t carried_files = 0;   // by-hash files kept for clients of older generations
  uint64_t pool_removed = 0;    // pool links no live generation names any more
  uint64_t generations_removed = 0;
  uint64_t chunks_compressed = 0;  // index chunks compressed (not found in the chunk cache)
  uint64_t chunks_reused = 0;
  // Wall time of the steps, in milliseconds ("links": waiting for the pool links, which are
  // made while the indexes are built).
  struct {
    double list = 0, indexes = 0, write = 0, links = 0, carry = 0, sync = 0, cleanup = 0;
  } ms;
};

// The generation <public_dir>/<repo> points at, or 0 when it is not published.
uint64_t published_generation(const std::filesystem::path& public_dir, std::string_view repo);

Result<PublishReport> publish_repo(PoolStore& store, std::string_view repo,
                                   const PublishSettings& settings);

}  // namespace depot::pool

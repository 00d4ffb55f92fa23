#pragma once
// Atomic publication of a hosted repository as an apt repository root.
//
//   <public>/<repo>                        symlink -> .generations/<repo>/<n>
//   <public>/.generations/<repo>/<n>/      dists/<repo>/..., pool/<component>/... (hard links
//                                          into the content-addressed pool)
//
// A new generation is written beside the current one, synced, and switched with one rename of
// the symlink. Clients that fetched an InRelease of an earlier generation keep finding its files:
// for `grace` after a generation stops being current, its by-hash indexes and pool files are
// linked into every newer generation, and it is deleted only after that. A failure at any step
// before the switch leaves the current publication untouched and removes the partial one.
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
  PublishOptions index;                    // compression and signing
  std::chrono::seconds grace{3600};
};

struct PublishReport {
  uint64_t generation = 0;
  uint64_t packages = 0;
  uint64_t index_files = 0;     // under dists/
  uint64_t carried_files = 0;   // by-hash and pool files kept for clients of older generations
  uint64_t generations_removed = 0;
};

Result<PublishReport> publish_repo(PoolStore& store, std::string_view repo,
                                   const PublishSettings& settings);

}  // namespace depot::pool

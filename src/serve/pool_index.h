#pragma once
// PoolIndex: size and digests of package files, learnt from the indexes that pass through the
// cache (apt Packages, yum primary.xml, conda repodata.json), so a package fetched later is
// verified like an index is. Thread-safe.

#include <cstddef>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/result.h"
#include "serve/root_index.h"

namespace depot {

enum class PackageIndexKind {
  kNone,
  kAptPackages,    // ".../dists/**/Packages*", or a by-hash file in a "binary-*" directory;
                   // names files relative to the archive root (the part before "dists/")
  kYumPrimary,     // "<repo>/repodata/*primary.xml*"; names files relative to <repo>
  kCondaRepodata,  // "<subdir>/repodata.json" (also .bz2/.zst, current_repodata.json);
                   // names files in <subdir>
};

class PoolIndex {
 public:
  static PackageIndexKind kind_of(std::string_view key);
  static bool may_name_packages(std::string_view key) {
    return kind_of(key) != PackageIndexKind::kNone;
  }

  // Reads the index `file` (any compression) cached as `key`, whose body has digest `sha256`
  // (a version already read is skipped), and records every package file it names. Returns how
  // many it recorded. A file that is not such an index is an error and records nothing.
  Result<size_t> learn(std::string_view key, const std::string& sha256,
                       const std::filesystem::path& file);

  std::optional<NamedIndex> find(std::string_view rel) const;
  size_t size() const;

 private:
  static constexpr size_t kMaxFiles = 4'000'000;  // beyond that, start over
  mutable std::mutex mu_;
  std::unordered_map<std::string, NamedIndex> files_;
  std::set<std::string> read_;  // sha256 of the indexes already read
};

}  // namespace depot

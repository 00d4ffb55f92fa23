#pragma once
// PoolIndex: size and digests of apt pool files, learnt from the binary Packages indexes that
// pass through the cache, so a .deb fetched later is verified like an index is. Thread-safe.

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

class PoolIndex {
 public:
  // True for cached files under ".../dists/" that may hold a binary Packages index: a
  // "Packages*" file, or a by-hash file in a "binary-*" directory.
  static bool may_be_packages(std::string_view key);

  // Reads the Packages file `file` (any compression) cached as `key`, whose body has digest
  // `sha256` (a version already read is skipped), and records every file it names under the
  // archive root of `key` (the part before "dists/"). Returns how many it recorded. A file that
  // is not a Packages index is a kParse error and records nothing.
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

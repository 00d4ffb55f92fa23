#pragma once
// PoolIndex: size and digests of package files, learnt from the indexes that pass through the
// cache (PathRules::read_package_index: apt Packages, yum primary.xml, conda repodata.json), so a package fetched later is
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

class PoolIndex {
 public:
  // The registry whose index `key` names package files (PathRules::names_packages); null
  // for any other path.
  static const RegistryDescriptor* registry_of(std::string_view key);
  static bool may_name_packages(std::string_view key) { return registry_of(key) != nullptr; }

  // Reads the index `file` (any compression) cached as `key`, whose body has digest `sha256`
  // (a version already read is skipped), and records every package file it names. Returns how
  // many it recorded. A file that is not such an index is an error and records nothing.
  // `added`, when given, receives the files it names that were not known before, provided an
  // earlier index of its family (its directory, by-hash/ left out) was read: a family's first
  // index is a baseline, naming nothing new.
  Result<size_t> learn(std::string_view key, const std::string& sha256,
                       const std::filesystem::path& file, NamedFiles* added = nullptr);
  // "dists/x/main/binary-amd64/" for ".../binary-amd64/Packages.xz" and for
  // ".../binary-amd64/by-hash/SHA256/<hex>".
  static std::string family_of(std::string_view key);

  std::optional<NamedIndex> find(std::string_view rel) const;
  size_t size() const;

 private:
  static constexpr size_t kMaxFiles = 4'000'000;  // beyond that, start over
  mutable std::mutex mu_;
  std::unordered_map<std::string, NamedIndex> files_;
  std::set<std::string> read_;  // sha256 of the indexes already read
  std::set<std::string> families_;  // families with an index read
};

}  // namespace depot

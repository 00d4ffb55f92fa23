#include "serve/pool_index.h"

#include <utility>
#include <vector>

namespace depot {

const RegistryDescriptor* PoolIndex::registry_of(std::string_view key) {
  for (const RegistryDescriptor* r : registries()) {
    const PathRules& p = r->paths;
    if (p.names_packages && p.read_package_index && p.names_packages(key)) return r;
  }
  return nullptr;
}

std::string PoolIndex::family_of(std::string_view key) {
  size_t by_hash = key.find("/by-hash/");
  if (by_hash != std::string_view::npos) return std::string(key.substr(0, by_hash + 1));
  size_t slash = key.rfind('/');
  return slash == std::string_view::npos ? std::string() : std::string(key.substr(0, slash + 1));
}

Result<size_t> PoolIndex::learn(std::string_view key, const std::string& sha256,
                                const std::filesystem::path& file, NamedFiles* added) {
  {
    std::lock_guard lock(mu_);
    if (!sha256.empty() && read_.count(sha256)) return size_t{0};
  }
  const RegistryDescriptor* r = registry_of(key);
  if (r == nullptr) return make_error(ErrorCode::kParse, std::string(key) + ": not a package index");
  auto found = r->paths.read_package_index(key, file);
  if (!found.ok()) return found.error();
  std::lock_guard lock(mu_);
  if (files_.size() + found->size() > kMaxFiles) {
    files_.clear();
    read_.clear();
    families_.clear();
  }
  const bool baseline = families_.insert(family_of(key)).second;
  for (auto& [rel, named] : *found) {
    auto [it, fresh] = files_.insert_or_assign(std::move(rel), std::move(named));
    if (fresh && !baseline && added != nullptr) added->emplace_back(it->first, it->second);
  }
  if (!sha256.empty()) read_.insert(sha256);
  return found->size();
}

std::optional<NamedIndex> PoolIndex::find(std::string_view rel) const {
  std::lock_guard lock(mu_);
  auto it = files_.find(std::string(rel));
  if (it == files_.end()) return std::nullopt;
  return it->second;
}

size_t PoolIndex::size() const {
  std::lock_guard lock(mu_);
  return files_.size();
}

}  // namespace depot

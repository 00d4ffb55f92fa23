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

Result<size_t> PoolIndex::learn(std::string_view key, const std::string& sha256,
                                const std::filesystem::path& file) {
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
  }
  for (auto& [rel, named] : *found) files_[std::move(rel)] = std::move(named);
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

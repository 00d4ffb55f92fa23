#include "serve/pool_index.h"

#include <vector>

#include "sources/apt/packages.h"

namespace depot {

bool PoolIndex::may_be_packages(std::string_view key) {
  size_t dists = key.find("dists/");
  if (dists == std::string_view::npos || (dists != 0 && key[dists - 1] != '/')) return false;
  size_t slash = key.rfind('/');
  std::string_view name = key.substr(slash == std::string_view::npos ? 0 : slash + 1);
  if (name.starts_with("Packages")) return !name.ends_with(".diff") && name != "Packages.diff";
  size_t by_hash = key.find("/by-hash/");
  if (by_hash == std::string_view::npos) return false;
  std::string_view dir = key.substr(0, by_hash);
  size_t dir_slash = dir.rfind('/');
  return dir.substr(dir_slash == std::string_view::npos ? 0 : dir_slash + 1)
      .starts_with("binary-");
}

Result<size_t> PoolIndex::learn(std::string_view key, const std::string& sha256,
                                const std::filesystem::path& file) {
  {
    std::lock_guard lock(mu_);
    if (!sha256.empty() && read_.count(sha256)) return size_t{0};
  }
  size_t dists = key.find("dists/");
  std::string root(key.substr(0, dists));  // "" or "<prefix>/"
  std::vector<Entry> entries;
  apt::PoolCollector collector("", entries);
  if (Status st = collector.add_packages_file(file, std::string(key)); !st.ok()) {
    return st.error();
  }
  std::lock_guard lock(mu_);
  if (files_.size() + entries.size() > kMaxFiles) {
    files_.clear();
    read_.clear();
  }
  for (Entry& e : entries) {
    NamedIndex n;
    n.size = e.size;
    n.digests = std::move(e.digests);
    files_[root + e.path.str()] = std::move(n);
  }
  if (!sha256.empty()) read_.insert(sha256);
  return entries.size();
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

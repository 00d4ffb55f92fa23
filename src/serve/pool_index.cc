#include "serve/pool_index.h"

#include <utility>
#include <vector>

#include "core/rel_path.h"
#include "sources/apt/packages.h"
#include "sources/conda/repodata.h"
#include "sources/decompress.h"
#include "sources/yum/primary.h"

namespace depot {
namespace {

struct Found {
  std::string rel;
  std::optional<uint64_t> size;
  Digests digests;
};

}  // namespace

PackageIndexKind PoolIndex::kind_of(std::string_view key) {
  std::string_view name = rel_filename(key);
  std::string_view dir = rel_parent(key);
  size_t dists = key.find("dists/");
  if (dists != std::string_view::npos && (dists == 0 || key[dists - 1] == '/')) {
    if (name.starts_with("Packages")) {
      return name.find(".diff") == std::string_view::npos ? PackageIndexKind::kAptPackages
                                                          : PackageIndexKind::kNone;
    }
    size_t by_hash = key.find("/by-hash/");
    if (by_hash != std::string_view::npos &&
        rel_filename(key.substr(0, by_hash)).starts_with("binary-")) {
      return PackageIndexKind::kAptPackages;
    }
    return PackageIndexKind::kNone;
  }
  if (rel_filename(dir) == "repodata" && name.find("primary.xml") != std::string_view::npos) {
    return PackageIndexKind::kYumPrimary;
  }
  if (name.starts_with("repodata.json") || name.starts_with("current_repodata.json")) {
    return PackageIndexKind::kCondaRepodata;
  }
  return PackageIndexKind::kNone;
}

Result<size_t> PoolIndex::learn(std::string_view key, const std::string& sha256,
                                const std::filesystem::path& file) {
  {
    std::lock_guard lock(mu_);
    if (!sha256.empty() && read_.count(sha256)) return size_t{0};
  }
  const std::string name(key);
  std::vector<Found> found;
  switch (kind_of(key)) {
    case PackageIndexKind::kNone:
      return make_error(ErrorCode::kParse, name + ": not a package index");
    case PackageIndexKind::kAptPackages: {
      std::string root(key.substr(0, key.find("dists/")));  // "" or "<prefix>/"
      std::vector<Entry> entries;
      apt::PoolCollector collector("", entries);
      if (Status st = collector.add_packages_file(file, name); !st.ok()) return st.error();
      for (Entry& e : entries) found.push_back({root + e.path.str(), e.size, std::move(e.digests)});
      break;
    }
    case PackageIndexKind::kYumPrimary: {
      std::string_view repo = rel_parent(rel_parent(key));
      yum::PrimaryParser parser(name, [&](yum::Package&& p) {
        if (p.base.empty()) found.push_back({rel_join(repo, p.path.str()), p.size, std::move(p.digests)});
        return Status{};
      });
      Status st = read_decompressed(file, name, [&](std::string_view chunk) {
        return parser.feed(chunk);
      });
      if (st.ok()) st = parser.finish();
      if (!st.ok()) return st.error();
      break;
    }
    case PackageIndexKind::kCondaRepodata: {
      std::string json;
      Status st = read_decompressed(file, name, [&](std::string_view chunk) {
        json.append(chunk);
        return Status{};
      });
      if (!st.ok()) return st.error();
      auto repodata = conda::parse_repodata(json, name);
      if (!repodata.ok()) return repodata.error();
      if (!repodata->base_url.empty()) break;  // the packages live elsewhere
      std::string_view subdir = rel_parent(key);
      for (auto& p : repodata->packages) {
        found.push_back({rel_join(subdir, p.filename), p.size, std::move(p.digests)});
      }
      break;
    }
  }
  std::lock_guard lock(mu_);
  if (files_.size() + found.size() > kMaxFiles) {
    files_.clear();
    read_.clear();
  }
  for (Found& f : found) {
    NamedIndex n;
    n.size = f.size;
    n.digests = std::move(f.digests);
    files_[std::move(f.rel)] = std::move(n);
  }
  if (!sha256.empty()) read_.insert(sha256);
  return found.size();
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

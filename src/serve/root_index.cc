#include "serve/root_index.h"

#include "core/rel_path.h"
#include "sources/apt/release.h"
#include "sources/yum/repomd.h"

namespace depot {
namespace {

bool is_apt_root_name(std::string_view name) {
  return name == "InRelease" || name == "Release" || name == "Release.gpg";
}

}  // namespace

std::vector<std::string> candidate_roots(std::string_view rel) {
  // apt: <p>/dists/<suite>/<sub...>; the suite may not contain "/" here (flat suites like
  // "bookworm/updates" are named by their own Release one level down, tried first).
  std::vector<std::string> out;
  if (rel.find("/by-hash/") != std::string_view::npos) return out;
  size_t pos = 0;
  std::string_view r = rel;
  for (;;) {
    size_t d = r.find("dists/", pos);
    if (d == std::string_view::npos) break;
    if (d != 0 && r[d - 1] != '/') {
      pos = d + 6;
      continue;
    }
    size_t suite_start = d + 6;
    size_t suite_end = r.find('/', suite_start);
    if (suite_end == std::string_view::npos) break;
    std::string_view sub = r.substr(suite_end + 1);
    if (sub.find('/') == std::string_view::npos && is_apt_root_name(sub)) break;
    std::string_view suite_dir = r.substr(0, suite_end);
    out.push_back(rel_join(suite_dir, "InRelease"));
    out.push_back(rel_join(suite_dir, "Release"));
    break;
  }
  if (!out.empty()) return out;
  std::string_view dir = rel_parent(rel);
  std::string_view name = rel.substr(dir.empty() ? 0 : dir.size() + 1);
  if ((dir == "repodata" || dir.ends_with("/repodata")) && !name.starts_with("repomd.xml")) {
    out.push_back(rel_join(dir, "repomd.xml"));
  }
  return out;
}

std::shared_ptr<RootIndex::Parsed> RootIndex::parse(const std::string& root_rel,
                                                    std::string_view text) {
  auto parsed = std::make_shared<Parsed>();
  std::string_view dir = rel_parent(root_rel);
  std::string_view name = std::string_view(root_rel).substr(dir.empty() ? 0 : dir.size() + 1);
  if (name == "repomd.xml") {
    auto repomd = yum::parse_repomd(text, root_rel);
    if (!repomd.ok()) return parsed;
    std::string_view repo = rel_parent(dir);  // the repository root holds repodata/
    for (const auto& d : repomd->data) {
      auto path = RelPath::parse(d.href);
      if (!path.ok()) continue;
      NamedIndex named;
      named.size = d.size;
      named.digests = d.checksum;
      parsed->files[rel_join(repo, path->str())] = std::move(named);
    }
    return parsed;
  }
  std::string signed_text;
  if (name == "InRelease") {
    auto t = apt::clearsigned_text(text, root_rel);
    if (!t.ok()) return parsed;
    signed_text = std::move(*t);
    text = signed_text;
  }
  auto release = apt::parse_release(text, root_rel);
  if (!release.ok()) return parsed;
  for (const auto& f : release->files) {
    auto path = RelPath::parse(f.path);
    if (!path.ok()) continue;
    NamedIndex named;
    named.size = f.size;
    named.digests = f.digests;
    if (release->acquire_by_hash && !f.digests.sha256.empty()) {
      std::string_view fdir = rel_parent(path->str());
      named.by_hash_rel = rel_join(dir, rel_join(fdir, "by-hash/SHA256/" + f.digests.sha256));
    }
    parsed->files[rel_join(dir, path->str())] = std::move(named);
  }
  return parsed;
}

std::optional<NamedIndex> RootIndex::lookup_parsed(const std::string& root_rel,
                                                   const std::string& version,
                                                   std::string_view rel, bool* parsed) {
  std::shared_ptr<Parsed> p;
  {
    std::lock_guard lock(mu_);
    auto it = roots_.find(root_rel);
    if (it != roots_.end() && it->second->version == version) p = it->second;
  }
  *parsed = p != nullptr;
  if (!p) return std::nullopt;
  auto f = p->files.find(rel);
  if (f == p->files.end()) return std::nullopt;
  return f->second;
}

std::optional<NamedIndex> RootIndex::lookup(const std::string& root_rel,
                                            const std::string& version,
                                            std::string_view root_text, std::string_view rel) {
  bool parsed = false;
  auto hit = lookup_parsed(root_rel, version, rel, &parsed);
  if (parsed) return hit;
  std::shared_ptr<Parsed> p = parse(root_rel, root_text);
  p->version = version;
  {
    std::lock_guard lock(mu_);
    roots_[root_rel] = p;
  }
  auto f = p->files.find(rel);
  if (f == p->files.end()) return std::nullopt;
  return f->second;
}

std::optional<NamedIndex> by_hash_expectation(std::string_view key) {
  size_t pos = key.find("/by-hash/");
  if (pos == std::string_view::npos && !key.starts_with("by-hash/")) return std::nullopt;
  std::string_view rest = key.substr(pos == std::string_view::npos ? 8 : pos + 9);
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::string_view algo = rest.substr(0, slash), hex = rest.substr(slash + 1);
  NamedIndex n;
  if (algo == "SHA256") {
    auto h = normalize_hex_digest(DigestAlgo::kSha256, hex);
    if (!h.ok()) return std::nullopt;
    n.digests.sha256 = *h;
  } else if (algo == "SHA512") {
    auto h = normalize_hex_digest(DigestAlgo::kSha512, hex);
    if (!h.ok()) return std::nullopt;
    n.digests.sha512 = *h;
  } else {
    return std::nullopt;
  }
  return n;
}

}  // namespace depot

// apt's descriptor: `depot mirror apt` options and what a server must know of an archive's
// paths (pool files and by-hash copies never change; dists/**/InRelease, Release and
// Release.gpg are the roots, naming the suite's indexes; Packages files name pool files).

#include "core/rel_path.h"
#include "sources/apt/apt_source.h"
#include "sources/apt/packages.h"
#include "sources/apt/release.h"

namespace depot::apt {
namespace {

using Kind = RegistryOption::Kind;

bool is_root_name(std::string_view name) {
  return name == "InRelease" || name == "Release" || name == "Release.gpg";
}

bool is_blob(PathParts parts) {
  std::string_view name = parts.back();
  if (parts.size() >= 3 && parts[parts.size() - 3] == "by-hash" && name.size() >= 32 &&
      all_hex(name)) {
    return true;
  }
  return has_ancestor(parts, "pool") &&
         (ends_with_any(name, {".deb", ".udeb", ".ddeb", ".dsc", ".diff.gz", ".buildinfo",
                               ".changes", ".tar"}) ||
          name.find(".tar.") != std::string_view::npos);
}

bool is_root(PathParts parts) {
  std::string_view name = parts.back();
  return has_ancestor(parts, "dists") && is_root_name(name);
}

// "<p>/dists/<suite>/<sub...>" is named by the suite's InRelease, then its Release. The suite
// may not contain "/" here (flat suites like "bookworm/updates" are named by their own Release
// one level down, tried first). By-hash files name themselves.
std::vector<std::string> candidate_roots(std::string_view rel) {
  if (rel.find("/by-hash/") != std::string_view::npos) return {};
  size_t pos = 0;
  for (;;) {
    size_t d = rel.find("dists/", pos);
    if (d == std::string_view::npos) return {};
    if (d != 0 && rel[d - 1] != '/') {
      pos = d + 6;
      continue;
    }
    size_t suite_end = rel.find('/', d + 6);
    if (suite_end == std::string_view::npos) return {};
    std::string_view sub = rel.substr(suite_end + 1);
    if (sub.find('/') == std::string_view::npos && is_root_name(sub)) return {};
    std::string_view suite_dir = rel.substr(0, suite_end);
    return {rel_join(suite_dir, "InRelease"), rel_join(suite_dir, "Release")};
  }
}

NamedFiles read_root(std::string_view root_rel, std::string_view text) {
  const std::string name(root_rel);
  std::string_view dir = rel_parent(root_rel);
  std::string signed_text;
  if (rel_filename(root_rel) == "InRelease") {
    auto t = clearsigned_text(text, name);
    if (!t.ok()) return {};
    signed_text = std::move(*t);
    text = signed_text;
  }
  auto release = parse_release(text, name);
  if (!release.ok()) return {};
  NamedFiles out;
  for (const auto& f : release->files) {
    auto path = RelPath::parse(f.path);
    if (!path.ok()) continue;
    NamedFile named;
    named.size = f.size;
    named.digests = f.digests;
    if (release->acquire_by_hash && !f.digests.sha256.empty()) {
      std::string_view fdir = rel_parent(path->str());
      named.by_hash_rel = rel_join(dir, rel_join(fdir, "by-hash/SHA256/" + f.digests.sha256));
    }
    out.emplace_back(rel_join(dir, path->str()), std::move(named));
  }
  return out;
}

// ".../by-hash/SHA256/<hex>" (or SHA512) says its own digest.
std::optional<NamedFile> self_named(std::string_view rel) {
  size_t pos = rel.find("/by-hash/");
  if (pos == std::string_view::npos && !rel.starts_with("by-hash/")) return std::nullopt;
  std::string_view rest = rel.substr(pos == std::string_view::npos ? 8 : pos + 9);
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::string_view algo = rest.substr(0, slash), hex = rest.substr(slash + 1);
  DigestAlgo a;
  if (algo == "SHA256") {
    a = DigestAlgo::kSha256;
  } else if (algo == "SHA512") {
    a = DigestAlgo::kSha512;
  } else {
    return std::nullopt;
  }
  auto h = normalize_hex_digest(a, hex);
  if (!h.ok()) return std::nullopt;
  NamedFile n;
  (a == DigestAlgo::kSha256 ? n.digests.sha256 : n.digests.sha512) = *h;
  return n;
}

// "dists/**/Packages*" (not a .diff), or a by-hash file in a "binary-*" directory.
bool names_packages(std::string_view key) {
  size_t dists = key.find("dists/");
  if (dists == std::string_view::npos || (dists != 0 && key[dists - 1] != '/')) return false;
  std::string_view name = rel_filename(key);
  if (name.starts_with("Packages")) return name.find(".diff") == std::string_view::npos;
  size_t by_hash = key.find("/by-hash/");
  return by_hash != std::string_view::npos &&
         rel_filename(key.substr(0, by_hash)).starts_with("binary-");
}

// Pool paths are relative to the archive root: the part of `key` before "dists/".
Result<NamedFiles> read_package_index(std::string_view key, const std::filesystem::path& file) {
  const std::string name(key);
  std::string root(key.substr(0, key.find("dists/")));
  std::vector<Entry> entries;
  PoolCollector collector("", entries);
  DEPOT_ASSIGN_OR_RETURN(auto in, open_file_source(file, name));
  if (Status st = collector.add_packages_file(*in, name); !st.ok()) return st.error();
  NamedFiles out;
  for (Entry& e : entries) {
    out.emplace_back(root + e.path.str(), NamedFile{e.size, std::move(e.digests), {}});
  }
  return out;
}

std::optional<std::string> package_name(std::string_view name) {
  if (!ends_with_any(name, {".deb", ".udeb", ".ddeb"})) return std::nullopt;
  size_t under = name.find('_');
  if (under == 0 || under == std::string_view::npos) return std::nullopt;
  return std::string(name.substr(0, under));
}

}  // namespace

RegistryDescriptor descriptor() {
  RegistryDescriptor d;
  d.name = "apt";
  d.mirror_trace = true;
  d.upstream_help = "an apt archive root (the directory holding dists/)";
  d.factory = make_apt_source;
  d.options = {
      {"--dist", "dist", Kind::kList,
       "distributions to mirror, e.g. bookworm,bookworm-updates (required)"},
      {"--component", "component", Kind::kList,
       "components, e.g. main,contrib (default: every one the Release lists)"},
      {"--arch", "arch", Kind::kList,
       "architectures, e.g. amd64,all; 'source' adds source packages (default: every one the "
       "Release lists)"},
      {"--keyring", "keyring", Kind::kFile,
       "verify InRelease / Release.gpg with gpgv against this keyring (binary or "
       "ASCII-armored); a bad or missing signature fails the run"},
      {"--contents", "contents", Kind::kFlag, "mirror Contents-<arch> files too"},
  };
  d.paths.is_blob = is_blob;
  d.paths.is_root = is_root;
  d.paths.root_names = {"InRelease", "Release", "Release.gpg"};
  d.paths.types = {{"deb", "application/vnd.debian.binary-package"},
                   {"udeb", "application/vnd.debian.binary-package"},
                   {"ddeb", "application/vnd.debian.binary-package"},
                   {"dsc", "text/plain; charset=utf-8"},
                   {"changes", "text/plain; charset=utf-8"},
                   {"buildinfo", "text/plain; charset=utf-8"}};
  d.paths.text_names = {"Release", "InRelease", "Packages", "Sources", "Index"};
  d.paths.text_prefixes = {"Contents-", "Translation-"};
  d.paths.candidate_roots = candidate_roots;
  d.paths.read_root = read_root;
  d.paths.self_named = self_named;
  d.paths.names_packages = names_packages;
  d.paths.read_package_index = read_package_index;
  d.paths.package_name = package_name;
  return d;
}

}  // namespace depot::apt

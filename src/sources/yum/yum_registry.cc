// yum's descriptor: packages and checksum-named repodata files never change;
// repodata/repomd.xml (with its .asc and .key) is the root, naming the repodata files;
// primary.xml names the packages.

#include "core/rel_path.h"
#include "sources/decompress.h"
#include "sources/yum/primary.h"
#include "sources/yum/repomd.h"
#include "sources/yum/yum_source.h"

namespace depot::yum {
namespace {

bool is_blob(PathParts parts) {
  std::string_view name = parts.back();
  if (ends_with_any(name, {".rpm", ".drpm", ".srpm"})) return true;
  if (parent_name(parts) != "repodata") return false;
  size_t dash = name.find('-');
  return dash != std::string_view::npos && dash >= 32 && all_hex(name.substr(0, dash));
}

bool is_root(PathParts parts) {
  std::string_view name = parts.back();
  return parent_name(parts) == "repodata" &&
         (name == "repomd.xml" || name == "repomd.xml.asc" || name == "repomd.xml.key");
}

bool in_repodata(std::string_view rel) {
  std::string_view dir = rel_parent(rel);
  return dir == "repodata" || dir.ends_with("/repodata");
}

std::vector<std::string> candidate_roots(std::string_view rel) {
  if (!in_repodata(rel) || rel_filename(rel).starts_with("repomd.xml")) return {};
  return {rel_join(rel_parent(rel), "repomd.xml")};
}

// repomd.xml names its data files relative to the repository root, which holds repodata/.
NamedFiles read_root(std::string_view root_rel, std::string_view text) {
  if (rel_filename(root_rel) != "repomd.xml") return {};
  auto repomd = parse_repomd(text, std::string(root_rel));
  if (!repomd.ok()) return {};
  std::string_view repo = rel_parent(rel_parent(root_rel));
  NamedFiles out;
  for (const auto& d : repomd->data) {
    auto path = RelPath::parse(d.href);
    if (!path.ok()) continue;
    out.emplace_back(rel_join(repo, path->str()), NamedFile{d.size, d.checksum, {}});
  }
  return out;
}

// NAME-VERSION-RELEASE.ARCH.rpm
std::optional<std::string> package_name(std::string_view name) {
  if (!name.ends_with(".rpm")) return std::nullopt;
  std::string_view stem = name.substr(0, name.size() - 4);
  size_t dot = stem.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::string_view n = drop_dash_fields(stem.substr(0, dot), 2);
  if (n.empty()) return std::nullopt;
  return std::string(n);
}

bool names_packages(std::string_view key) {
  return in_repodata(key) && rel_filename(key).find("primary.xml") != std::string_view::npos;
}

// Packages with an xml:base live elsewhere and are left out.
Result<NamedFiles> read_package_index(std::string_view key, const std::filesystem::path& file) {
  const std::string name(key);
  std::string_view repo = rel_parent(rel_parent(key));
  NamedFiles out;
  PrimaryParser parser(name, [&](Package&& p) {
    if (p.base.empty()) {
      out.emplace_back(rel_join(repo, p.path.str()), NamedFile{p.size, std::move(p.digests), {}});
    }
    return Status{};
  });
  Status st = read_decompressed(file, name, [&](std::string_view chunk) {
    return parser.feed(chunk);
  });
  if (st.ok()) st = parser.finish();
  if (!st.ok()) return st.error();
  return out;
}

}  // namespace

RegistryDescriptor descriptor() {
  RegistryDescriptor d;
  d.name = "yum";
  d.upstream_help = "a yum repository root (the directory holding repodata/)";
  d.factory = make_yum_source;
  d.options = {{"--keyring", "keyring", RegistryOption::Kind::kFile,
                "verify repodata/repomd.xml.asc with gpgv against this keyring; a bad or "
                "missing signature fails the run"}};
  d.paths.is_blob = is_blob;
  d.paths.is_root = is_root;
  d.paths.root_names = {"repomd.xml", "repomd.xml.asc", "repomd.xml.key"};
  d.paths.types = {{"rpm", "application/x-rpm"}, {"drpm", "application/x-rpm"}};
  d.paths.candidate_roots = candidate_roots;
  d.paths.read_root = read_root;
  d.paths.names_packages = names_packages;
  d.paths.read_package_index = read_package_index;
  d.paths.package_name = package_name;
  return d;
}

}  // namespace depot::yum

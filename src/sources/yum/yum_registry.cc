// yum's descriptor: packages and checksum-named repodata files never change;
// repodata/repomd.xml (with its .asc and .key) is the root.

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

RegistryDescriptor describe() {
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
  return d;
}

}  // namespace

const RegistryDescriptor& registry() {
  static const RegistryDescriptor kYum = describe();
  return kYum;
}

}  // namespace depot::yum

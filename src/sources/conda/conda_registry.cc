// conda's descriptor: package files (.conda, and .tar.bz2 other than repodata) never change;
// repodata.json is an index.

#include "sources/conda/conda_source.h"

namespace depot::conda {
namespace {

bool is_blob(PathParts parts) {
  std::string_view name = parts.back();
  return name.ends_with(".conda") || (name.ends_with(".tar.bz2") && !name.starts_with("repodata"));
}

RegistryDescriptor describe() {
  RegistryDescriptor d;
  d.name = "conda";
  d.upstream_help = "a conda subdir, or a channel root with --subdir";
  d.factory = make_conda_source;
  d.options = {{"--subdir", "subdir", RegistryOption::Kind::kList,
                "mirror these subdirs of the channel root"}};
  d.paths.is_blob = is_blob;
  d.paths.types = {{"conda", "application/octet-stream"}};
  return d;
}

}  // namespace

const RegistryDescriptor& registry() {
  static const RegistryDescriptor kConda = describe();
  return kConda;
}

}  // namespace depot::conda

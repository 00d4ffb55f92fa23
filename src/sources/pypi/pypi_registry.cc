// PyPI's descriptor: wheels, sdists and .metadata files never change (files.pythonhosted.org
// keeps them under packages/); simple pages are indexes.

#include "sources/pypi/pypi_source.h"

namespace depot::pypi {
namespace {

bool is_blob(PathParts parts) {
  return ends_with_any(parts.back(), {".whl", ".metadata"}) || has_ancestor(parts, "packages");
}

RegistryDescriptor describe() {
  using Kind = RegistryOption::Kind;
  RegistryDescriptor d;
  d.name = "pypi";
  d.upstream_help = "a PyPI host such as https://pypi.org (or its .../simple index)";
  d.factory = make_pypi_source;
  d.options = {
      {"--project", "project", Kind::kList,
       "projects to mirror, e.g. requests,numpy (names are normalised per PEP 503); the mirror "
       "dir is then a PyPI index at <url of dir>/simple/"},
      {"--projects-from", "project", Kind::kListFile, "file naming projects to mirror"},
  };
  d.paths.is_blob = is_blob;
  d.paths.types = {{"whl", "application/zip"}, {"metadata", "text/plain; charset=utf-8"}};
  return d;
}

}  // namespace

const RegistryDescriptor& registry() {
  static const RegistryDescriptor kPypi = describe();
  return kPypi;
}

}  // namespace depot::pypi

#include "sources/npm/npm_registry.h"

namespace depot::npm {

RegistryDescriptor descriptor() {
  RegistryDescriptor d;
  d.name = "npm";
  d.upstream_help = "an npm registry";
  d.paths.is_blob = [](PathParts parts) { return parts.back().ends_with(".tgz"); };
  d.paths.types = {{"tgz", "application/gzip"}};
  return d;
}

}  // namespace depot::npm

#include "sources/crates/crates_registry.h"

namespace depot::crates {
namespace {

RegistryDescriptor describe() {
  RegistryDescriptor d;
  d.name = "crates";
  d.upstream_help = "a crates.io sparse index";
  d.paths.is_blob = [](PathParts parts) { return parts.back().ends_with(".crate"); };
  d.paths.types = {{"crate", "application/gzip"}};
  return d;
}

}  // namespace

const RegistryDescriptor& registry() {
  static const RegistryDescriptor kCrates = describe();
  return kCrates;
}

}  // namespace depot::crates

#pragma once
// crates.io: served and cached (.crate files never change; sparse index files are indexes);
// not mirrored yet.

#include "sources/registry.h"

namespace depot::crates {

// The descriptor listed in source_registry.cc.
const RegistryDescriptor& registry();

}  // namespace depot::crates

#pragma once
// npm: served and cached (tarballs never change; package documents are indexes); not mirrored
// yet.

#include "sources/registry.h"

namespace depot::npm {

// The registry's descriptor, listed in source_registry.cc.
RegistryDescriptor descriptor();

}  // namespace depot::npm

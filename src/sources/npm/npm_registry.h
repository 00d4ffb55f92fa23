#pragma once
// npm: `depot mirror npm` (sources/npm/npm_source.h) and what a server knows of its paths.

#include "sources/registry.h"

namespace depot::npm {

// The registry's descriptor, listed in source_registry.cc.
RegistryDescriptor descriptor();

}  // namespace depot::npm

#pragma once
// The PyPI source: mirrors the chosen projects (list "project") of a PEP 503/691 simple index.
// The upstream URL is the index host (".../simple" is appended) or the simple index itself.

#include <memory>

#include "sources/registry.h"
#include "sources/source.h"

namespace depot::pypi {

Result<std::unique_ptr<Source>> make_pypi_source(const SourceOptions& opts);

// The registry's descriptor, listed in source_registry.cc.
RegistryDescriptor descriptor();

}  // namespace depot::pypi

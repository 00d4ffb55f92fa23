#pragma once
// The conda source: mirrors one subdir, or several subdirs of a channel (list "subdir").

#include <memory>

#include "sources/registry.h"
#include "sources/source.h"

namespace depot::conda {

Result<std::unique_ptr<Source>> make_conda_source(const SourceOptions& opts);

// The registry's descriptor, listed in source_registry.cc.
RegistryDescriptor descriptor();

}  // namespace depot::conda

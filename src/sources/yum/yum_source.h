#pragma once
// The yum source: mirrors one repository root (the directory holding repodata/). The mirror
// directory is itself a repository root: usable as a baseurl as-is.

#include <memory>

#include "sources/registry.h"
#include "sources/source.h"

namespace depot::yum {

// Values: "keyring" (verify repodata/repomd.xml.asc with gpgv; a missing or bad signature
// fails the run).
Result<std::unique_ptr<Source>> make_yum_source(const SourceOptions& opts);

// The registry's descriptor, listed in source_registry.cc.
RegistryDescriptor descriptor();

}  // namespace depot::yum

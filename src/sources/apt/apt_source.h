#pragma once

#include "sources/registry.h"
#include "sources/source.h"

namespace depot::apt {

// Options: lists "dist" (required), "component", "arch" (incl. "all", "source"); values
// "keyring" (verify roots with gpgv), "contents" ("yes": Contents-* too).
Result<std::unique_ptr<Source>> make_apt_source(const SourceOptions& opts);

// The registry's descriptor, listed in source_registry.cc.
RegistryDescriptor descriptor();

}  // namespace depot::apt

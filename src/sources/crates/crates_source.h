#pragma once
// The crates source: the chosen crates (list "crate"; with "with-deps" = "yes" the closure of
// their dependencies of every kind) from a sparse index (the upstream URL, e.g.
// https://index.crates.io). Mirrors each crate's index file byte for byte at index/<path>,
// every version's .crate at crates/<name>/<name>-<version>.crate (verified by its cksum), and
// writes index/config.json with "dl" under value "base-url" (where the mirror is served), last.
// Without a list, every crate the git index (value "git-index", default crates.io's) names.

#include <memory>

#include "sources/registry.h"
#include "sources/source.h"

namespace depot::crates {

Result<std::unique_ptr<Source>> make_crates_source(const SourceOptions& opts);

// The registry's descriptor, listed in source_registry.cc.
RegistryDescriptor descriptor();

}  // namespace depot::crates

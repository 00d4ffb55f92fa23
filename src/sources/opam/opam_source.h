#pragma once
// The opam source: an opam repository served over http (the upstream URL, e.g.
// https://opam.ocaml.org). Mirrors `repo`, `index.tar.gz` and `urls.txt` (when
// upstream has it) byte for byte, and every archive the packages of
// index.tar.gz name, at cache/<algo>/<xx>/<hex> of its first-listed checksum
// (where opam 2.1 looks an archive up below a repository's `archive-mirrors:
// "cache"`, and where `opam admin cache` stores it). An archive comes from the
// upstream's own cache when it has it, else from the package's `src` (then
// `mirrors`), http(s) only; every listed checksum is verified. `repo` and
// index.tar.gz commit last, together.

#include <memory>

#include "sources/registry.h"
#include "sources/source.h"

namespace depot::opam {

Result<std::unique_ptr<Source>> make_opam_source(const SourceOptions &opts);

// The registry's descriptor, listed in source_registry.cc.
RegistryDescriptor descriptor();

}  // namespace depot::opam

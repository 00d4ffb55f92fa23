#pragma once
// The rustup source (rust-static): for each channel of list "channel" (stable,
// beta, nightly, 1.95.0, ...) dist/channel-rust-<channel>.toml with its .sha256
// and .asc (when upstream has one), byte for byte, and every artifact the
// manifest names (url, xz_url, zst_url, verified by their hashes) of every
// available package for the targets of list "target" and for "*". With value
// "history-days" N, also the dated manifests
// dist/<day>/channel-rust-<channel>.toml of the N days up to the manifest's
// date (404 skipped) and their artifacts. Unless value "no-rustup-init" is
// "yes", rustup/release-stable.toml, rustup/dist/<target>/rustup-init and
// rustup/archive/<version>/<target>/rustup-init with their .sha256 files
// (targets upstream has no rustup-init for are skipped).
//
// Stages: artifacts and rustup-init binaries are blobs; archive .sha256 files
// are indexes; each manifest then its .asc then its .sha256 (rustup reads the
// .sha256 first), the current rustup-init .sha256 files, and
// release-stable.toml last, are the root stage.

#include <memory>

#include "sources/registry.h"
#include "sources/source.h"

namespace depot::rustup {

Result<std::unique_ptr<Source>> make_rustup_source(const SourceOptions &opts);

// The registry's descriptor, listed in source_registry.cc.
RegistryDescriptor descriptor();

} // namespace depot::rustup

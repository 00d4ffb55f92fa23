#pragma once

#include "sources/source.h"

namespace depot::apt {

// Options: lists "dist" (required), "component", "arch" (incl. "all", "source"); values
// "keyring" (verify roots with gpgv), "contents" ("yes": Contents-* too).
Result<std::unique_ptr<Source>> make_apt_source(const SourceOptions& opts);

}  // namespace depot::apt

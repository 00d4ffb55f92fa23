#pragma once
// An opam repository's index.tar.gz (what `opam admin index` writes and opam's
// http backend unpacks): the archives every package's opam file (or opam 1.2
// `url` file) names. Pure apart from reading the given file; thread-safe.

#include <filesystem>
#include <string>
#include <vector>

#include "core/byte_source.h"
#include "core/result.h"
#include "sources/opam/opam_file.h"

namespace depot::opam {

struct PackageArchives {
  std::string package;  // "name.version", the directory holding the opam file
  std::vector<Archive> archives;
};

struct IndexLimits {
  uint64_t max_file = 4ull << 20;     // one opam or url file
  uint64_t max_entries = 4ull << 20;  // tar entries
  uint64_t max_total = 4ull << 30;    // bytes of opam and url files together
};

// Reads the tarball `in` (gzip or any compression libarchive detects);
// `where` (its URL) names it in errors. Every entry must be a directory or a
// regular file at a safe relative path (a leading "./" allowed); links,
// devices, absolute paths and ".." are refused with an error naming the package
// they sit in. Files named `opam` or `url` under packages/ are parsed; a parse
// error names the package.
Result<std::vector<PackageArchives>> read_index(ByteSource &in, const std::string &where,
                                                const IndexLimits &limits = {});

}  // namespace depot::opam

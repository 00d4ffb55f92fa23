#pragma once
// The package model of hosted repositories. Format-neutral: a deb today, conda packages and
// wheels later (their metadata also fits an ordered field list). Plain data.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/digest.h"

namespace depot::pool {

struct PackageFile {
  std::string filename;  // the name it was imported under, e.g. "jq_1.6-2.1_amd64.deb"
  uint64_t size = 0;
  Digests digests;       // md5, sha1, sha256 and sha512, all set
};

struct Package {
  std::string format;        // "deb"
  std::string name;          // deb: Package
  std::string version;       // deb: Version
  std::string architecture;  // deb: Architecture ("all" included)
  // The metadata paragraph in its original field order (deb: the control file's fields,
  // multi-line values with their continuation lines joined by "\n" and the leading space kept
  // as in the control file). Never contains Filename, Size or checksum fields.
  std::vector<std::pair<std::string, std::string>> fields;
  PackageFile file;
};

// A package as an index lists it, its fields kept as the stored paragraph text
// (pool/paragraph.h) instead of being split: how a publication reads tens of thousands of them.
struct PackageText {
  std::string name;
  std::string version;
  std::string architecture;
  std::string paragraph;  // fields_to_text(Package::fields)
  PackageFile file;
};

}  // namespace depot::pool

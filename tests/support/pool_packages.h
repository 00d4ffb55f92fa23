#pragma once
// Test helpers for the package pool: package records without a package file.

#include <string>

#include "pool/package.h"
#include "support/digests.h"

namespace depot::testing {

// A deb record with Package, Version and Architecture fields and the usual file name; callers
// append further fields and set the file's size and digests.
inline pool::Package deb_record(const std::string& name, const std::string& version,
                                const std::string& arch) {
  pool::Package p;
  p.format = "deb";
  p.name = name;
  p.version = version;
  p.architecture = arch;
  p.fields = {{"Package", name}, {"Version", version}, {"Architecture", arch}};
  p.file.filename = name + "_" + version + "_" + arch + ".deb";
  return p;
}

}  // namespace depot::testing

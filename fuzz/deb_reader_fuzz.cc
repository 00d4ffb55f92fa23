// The .deb reader: arbitrary bytes as a package file (ar members, control.tar.* in any
// compression, ./control), through read_deb on an in-memory file.

#include "fuzz_util.h"
#include "pool/deb_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  depot::fuzz::MemFile file(depot::fuzz::as_text(data, size));
  auto pkg = depot::pool::read_deb(file.path());
  if (pkg.ok()) {
    depot::fuzz::check(pkg->file.size == size, "deb_reader: size differs from the input");
    depot::fuzz::check(
        depot::pool::valid_package_name(pkg->name) && depot::pool::valid_version(pkg->version),
        "deb_reader: accepted an invalid name or version");
  }
  return 0;
}

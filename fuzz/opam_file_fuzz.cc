// opam files (upstream bytes from index.tar.gz) through parse_file and
// archives_of, and repo files through string_list. Oracles: every accepted
// archive has at least one checksum of a known algorithm with a hex digest of
// that algorithm's length, and the cache path of each checksum is a safe
// relative path below cache/.

#include <string>

#include "core/rel_path.h"
#include "fuzz_util.h"
#include "sources/opam/opam_file.h"

using depot::fuzz::check;
namespace opam = depot::opam;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  auto file = opam::parse_file(depot::fuzz::as_text(data, size), "fuzz");
  if (!file.ok()) return 0;
  if (const opam::Value *v = file->field("archive-mirrors")) {
    (void)opam::string_list(*v, "fuzz", "archive-mirrors");
  }
  auto archives = opam::archives_of(*file, "fuzz");
  if (!archives.ok()) return 0;
  for (const auto &a : *archives) {
    check(!a.checksums.empty(), "opam: accepted an archive without a checksum");
    for (const auto &c : a.checksums) {
      size_t want = c.algo == depot::DigestAlgo::kMd5      ? 32
                    : c.algo == depot::DigestAlgo::kSha256 ? 64
                    : c.algo == depot::DigestAlgo::kSha512 ? 128
                                                           : 0;
      check(want != 0 && c.hex.size() == want, "opam: accepted a checksum of a wrong length");
      check(depot::RelPath::parse("cache/" + opam::cache_rel(c)).ok(),
            "opam: cache path of an accepted checksum is unsafe");
    }
  }
  return 0;
}

// apt Packages and Sources indexes: every paragraph through PoolCollector::add_binary and
// add_source (sizes, checksums, file names and directories from the index), fed in pieces.

#include <string>
#include <vector>

#include "fuzz_util.h"
#include "sources/apt/deb822.h"
#include "sources/apt/packages.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = depot::fuzz::as_text(data, size);
  std::vector<depot::Entry> binaries, sources;
  depot::apt::PoolCollector binary("http://deb.example/debian", binaries);
  depot::apt::PoolCollector source("http://deb.example/debian", sources);
  const std::string name = "http://deb.example/debian/dists/x/main/binary-amd64/Packages";
  depot::apt::Deb822Parser parser(name, [&](const depot::apt::Stanza& s) {
    (void)binary.add_binary(s, name);
    (void)source.add_source(s, name);
    return depot::ok_status();
  });
  for (std::string_view chunk : depot::fuzz::split_chunks(text)) {
    if (!parser.feed(chunk).ok()) return 0;
  }
  (void)parser.finish();
  for (const depot::Entry& e : binaries) {
    depot::fuzz::check(!e.path.str().empty() && !e.digests.empty(),
                       "apt: entry without path or digest");
  }
  return 0;
}

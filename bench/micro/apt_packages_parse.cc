// depot_apt_parse_bench FILE...: parses apt Packages files (any compression) into pool
// entries exactly as `depot mirror apt` does, and prints one JSON line per file with the
// entry count and wall time. Peak memory is measured from outside (bench/apt_parse_bench.sh).

#include <chrono>
#include <cstdio>
#include <vector>

#include "sources/apt/packages.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PACKAGES_FILE...\n", argv[0]);
    return 2;
  }
  for (int i = 1; i < argc; ++i) {
    std::vector<depot::Entry> entries;
    depot::apt::PoolCollector pool("http://mirror.invalid/debian", entries);
    auto t0 = std::chrono::steady_clock::now();
    auto in = depot::open_file_source(argv[i], argv[i]);
    depot::Status s = in.ok() ? pool.add_packages_file(**in, argv[i]) : depot::Status(in.error());
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.error().to_string().c_str());
      return 1;
    }
    std::printf("{\"file\":\"%s\",\"entries\":%zu,\"seconds\":%.3f}\n", argv[i], entries.size(), secs);
  }
  return 0;
}

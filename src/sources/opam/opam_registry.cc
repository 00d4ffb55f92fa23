// opam's descriptor: cache/<algo>/<xx>/<hex> archives never change;
// index.tar.gz (what opam clients download) is the root; repo and urls.txt are
// indexes.

#include "sources/opam/opam_source.h"

namespace depot::opam {
namespace {

bool is_cache_file(PathParts parts) {
  if (parts.size() < 4 || parts[parts.size() - 4] != "cache") return false;
  parts = parts.last(3);
  std::string_view algo = parts[0], hex = parts[2];
  size_t len = algo == "md5" ? 32 : algo == "sha256" ? 64 : algo == "sha512" ? 128 : 0;
  return len != 0 && hex.size() == len && all_hex(hex) && hex.substr(0, 2) == parts[1];
}

}  // namespace

RegistryDescriptor descriptor() {
  RegistryDescriptor d;
  d.name = "opam";
  d.upstream_help = "an opam repository served over http(s), such as https://opam.ocaml.org";
  d.factory = make_opam_source;
  d.paths.is_blob = is_cache_file;
  d.paths.is_root = [](PathParts parts) { return parts.back() == "index.tar.gz"; };
  d.paths.root_names = {"index.tar.gz"};
  d.paths.types = {{"gz", "application/gzip"}, {"txt", "text/plain"}};
  d.paths.text_names = {"repo"};
  return d;
}

}  // namespace depot::opam

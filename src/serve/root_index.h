#pragma once
// RootIndex: what a signed root (PathRules::read_root of its registry) says about the index
// files it names, so the cache serves an index only in the generation of the root it serves.
// Roots are parsed once per version and memoized. Thread-safe.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/digest.h"
#include "sources/registry.h"

namespace depot {

using NamedIndex = NamedFile;

// The roots that could name `rel`, best first, from the first registry that names any
// (PathRules::candidate_roots): e.g. an apt suite's InRelease then Release, a yum
// repository's repodata/repomd.xml. Roots themselves, by-hash files and blobs get none.
std::vector<std::string> candidate_roots(std::string_view rel);

// What a path says of its own content (PathRules::self_named: apt's by-hash/SHA256/<hex>);
// nullopt for other paths or a malformed digest.
std::optional<NamedIndex> by_hash_expectation(std::string_view rel);

class RootIndex {
 public:
  // What the root `root_rel`, whose current bytes are `root_text` and whose version is
  // `version` (any string that changes when the file does), says about `rel`; nullopt when the
  // root does not name it or does not parse (an unparsable root names nothing).
  std::optional<NamedIndex> lookup(const std::string& root_rel, const std::string& version,
                                   std::string_view root_text, std::string_view rel);
  // Same without the text, when this version is already parsed; `parsed` tells whether it was.
  std::optional<NamedIndex> lookup_parsed(const std::string& root_rel, const std::string& version,
                                          std::string_view rel, bool* parsed);

 private:
  struct Parsed {
    std::string version;
    std::map<std::string, NamedIndex, std::less<>> files;  // by rel
  };
  static std::shared_ptr<Parsed> parse(const std::string& root_rel, std::string_view text);

  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Parsed>, std::less<>> roots_;  // by root rel
};

}  // namespace depot

#pragma once
// Turns apt Packages and Sources indexes into pool-file entries, deduplicated across every
// index of a snapshot. Not thread-safe.

#include <string>
#include <vector>

#include "sources/apt/deb822.h"
#include "sources/source.h"

namespace depot::apt {

class PoolCollector {
 public:
  // `base_url` is the archive root; pool paths are relative to it.
  PoolCollector(std::string base_url, std::vector<Entry>& out)
      : base_url_(std::move(base_url)), blobs_(out) {}

  // Streams a (possibly compressed) Packages or Sources file. `name` is its URL, for errors.
  Status add_packages_file(ByteSource& in, const std::string& name);
  Status add_sources_file(ByteSource& in, const std::string& name);

  // One stanza; exposed for tests and for callers that already parse.
  Status add_binary(const Stanza& s, const std::string& name);
  Status add_source(const Stanza& s, const std::string& name);

  size_t files() const { return blobs_.size(); }

 private:
  Status add(std::string_view path, uint64_t size, Digests digests, const std::string& where);

  std::string base_url_;
  BlobCollector blobs_;
};

}  // namespace depot::apt

#pragma once
// primary.xml of a yum repository, parsed push-style: feed() the decompressed bytes as they
// arrive, finish() at the end; no I/O. Each <package> is handed to the sink once its element
// closes, validated: a safe relative location outside repodata/, a size, and at least one
// checksum, every one of a type depot verifies. Not thread-safe.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/digest.h"
#include "core/rel_path.h"
#include "core/result.h"

namespace depot::yum {

struct Package {
  std::string name;   // <name>, for messages
  RelPath path;       // location@href
  std::string base;   // location@xml:base (an http(s) URL), "" when absent
  uint64_t size = 0;  // size@package
  Digests digests;
};

class PrimaryParser {
 public:
  using Sink = std::function<Status(Package&&)>;
  // `name` (the file's URL) is used in every error.
  PrimaryParser(std::string name, Sink sink);
  ~PrimaryParser();
  PrimaryParser(const PrimaryParser&) = delete;
  PrimaryParser& operator=(const PrimaryParser&) = delete;

  Status feed(std::string_view bytes);
  // Fails on truncated XML and when <metadata packages="N"> disagrees with the count seen.
  Status finish();
  uint64_t packages() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace depot::yum

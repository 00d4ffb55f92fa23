#pragma once
// repodata/repomd.xml: the root of a yum repository. Lists the metadata files (primary,
// filelists, other, updateinfo, modules, comps, sqlite variants, ...) with their checksums.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/digest.h"
#include "core/text.h"  // parse_u64, for the size attributes
#include "core/result.h"

namespace depot::yum {

struct RepomdData {
  std::string type;              // "primary", "filelists", ...
  std::string href;              // location@href, relative to the repository root
  Digests checksum;              // of the file as stored (required)
  std::optional<uint64_t> size;  // of the file as stored, when given
  Digests open_checksum;         // of the decompressed content, when given
  std::optional<uint64_t> open_size;
};

struct Repomd {
  std::string revision;
  std::vector<RepomdData> data;  // document order
  const RepomdData* find(std::string_view type) const;
};

// Parses a whole repomd.xml. `name` (its URL) is used in errors. Every <data> needs a type, a
// location@href and a checksum of a known type; location@xml:base is refused (not mirrorable).
Result<Repomd> parse_repomd(std::string_view xml, const std::string& name);

// The digest algorithm of a yum checksum type ("sha256", "sha512", "sha1"/"sha", "md5"), or
// nullopt for types depot cannot verify (sha224, sha384, ...).
std::optional<DigestAlgo> checksum_algo(std::string_view type);


}  // namespace depot::yum

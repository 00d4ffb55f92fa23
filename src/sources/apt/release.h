#pragma once
// apt Release / InRelease: the signed root of one distribution. Parses the fields a mirror
// needs and the checksum lists (MD5Sum, SHA1, SHA256, SHA512) of the index files. No I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/digest.h"
#include "core/result.h"

namespace depot::apt {

struct ReleaseFile {
  std::string path;  // relative to dists/<dist>/, as listed (not yet validated)
  uint64_t size = 0;
  Digests digests;
};

struct Release {
  std::string origin, suite, codename, date, valid_until;
  std::vector<std::string> architectures, components;
  bool acquire_by_hash = false;
  std::vector<ReleaseFile> files;  // in first-listed order, digests merged over the sections
};

// `name` prefixes errors. Conflicting sizes for one file, malformed checksum lines and a
// missing checksum list are errors.
Result<Release> parse_release(std::string_view text, const std::string& name);

// Seconds since the epoch of a Release `Date:` ("Sat, 21 Nov 2026 22:55:15 UTC", also with a
// numeric zone), or nullopt when it does not parse.
std::optional<int64_t> parse_release_date(std::string_view date);

// What to mirror of one distribution.
struct Selection {
  std::vector<std::string> components;  // empty: every component
  std::vector<std::string> archs;       // empty: every architecture; "source" selects Sources
  bool contents = false;                // Contents-* files too
};

// What kind of index a Release-listed path (relative to dists/<dist>/) is, for `sel`.
enum class IndexKind {
  kSkip,      // not selected
  kPackages,  // a binary Packages file (any compression)
  kSources,   // a Sources file (any compression)
  kOther,     // mirrored but not parsed (Translation, Contents, Release, dep11, ...)
};
IndexKind classify_index(std::string_view path, const Selection& sel);

// The signed text of a clearsigned (InRelease) document, dash-escaping removed, without
// checking the signature. Anything before the armor header or after the signature is refused.
Result<std::string> clearsigned_text(std::string_view text, const std::string& name);

}  // namespace depot::apt

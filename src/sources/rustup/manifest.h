#pragma once
// The rustup dist server's formats: v2 channel manifests
// (dist/channel-rust-<channel>.toml), their .sha256 files, rustup's
// release-stable.toml, and where a manifest's artifact URLs are mirrored. Pure
// (no I/O); thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace depot::rustup {

// The host rustup replaces with RUSTUP_DIST_SERVER in every URL a manifest
// names.
inline constexpr std::string_view kCanonicalServer =
    "https://static.rust-lang.org";

// One downloadable file a manifest names: a package's url, xz_url or zst_url
// for a target.
struct Artifact {
  std::string path;   // mirrored at: "dist/YYYY-MM-DD/<file>"
  std::string sha256; // lowercase hex
  std::string pkg;    // "rustc"
  std::string target; // "x86_64-unknown-linux-gnu", or "*"
};

struct ChannelManifest {
  std::string date; // YYYY-MM-DD
  std::vector<Artifact> artifacts;
};

// A date in the form YYYY-MM-DD that exists in the calendar.
bool valid_date(std::string_view date);
// The date `days` days before `date` (valid_date), as YYYY-MM-DD.
std::string days_before(std::string_view date, int days);
// A channel name usable in a file name: stable, beta, nightly, 1.95.0, 1.95 (1
// to 64 of [A-Za-z0-9._-], not starting with '.').
bool valid_channel(std::string_view channel);

// The mirror path of artifact `url`: the URL must lie below `upstream` or
// kCanonicalServer (rustup's own rule), without query, fragment or
// percent-escapes, at dist/YYYY-MM-DD/<file> where <file> is no channel
// manifest. Anything else is kUnsafePath naming `where`.
Result<std::string> artifact_path(std::string_view url,
                                  std::string_view upstream,
                                  const std::string &where);

// Parses a manifest-version "2" channel manifest. Lists the artifacts of every
// available package for each of `targets` and for "*" (target-independent
// packages): url, xz_url and zst_url, each with its hash. Errors (kParse,
// kUnsafePath) name `where`.
Result<ChannelManifest>
parse_channel_manifest(std::string_view text,
                       const std::vector<std::string> &targets,
                       std::string_view upstream, const std::string &where);

// The digest of a .sha256 file ("<64 hex>  <name>\n", or the bare hex),
// lowercase.
Result<std::string> parse_sha256_file(std::string_view text,
                                      const std::string &where);

// The version rustup's release-stable.toml names (schema-version "1"); kParse
// otherwise.
Result<std::string> parse_release_version(std::string_view text,
                                          const std::string &where);

} // namespace depot::rustup

// rustup's descriptor: `depot mirror rustup` options; the artifacts under
// dist/YYYY-MM-DD/ and archived rustup-init binaries never change; channel
// manifests, their .sha256/.asc files and rustup/release-stable.toml are
// indexes (revalidated).

#include "sources/rustup/manifest.h"
#include "sources/rustup/rustup_source.h"

namespace depot::rustup {
namespace {

// dist/YYYY-MM-DD/<artifact> (not a dated channel manifest),
// rustup/archive/<ver>/<t>/<file>.
bool is_blob(PathParts parts) {
  std::string_view name = parts.back();
  if (parts.size() == 3 && parts[0] == "dist" && valid_date(parts[1])) {
    return !name.starts_with("channel-rust-");
  }
  return parts.size() == 5 && parts[0] == "rustup" && parts[1] == "archive" &&
         !name.ends_with(".sha256");
}

} // namespace

RegistryDescriptor descriptor() {
  using Kind = RegistryOption::Kind;
  RegistryDescriptor d;
  d.name = "rustup";
  d.upstream_help = "a rustup dist server such as https://static.rust-lang.org";
  d.factory = make_rustup_source;
  d.options = {
      {"--channel", "channel", Kind::kList,
       "channels to mirror, e.g. stable,beta,nightly,1.95.0 (required)"},
      {"--target", "target", Kind::kList,
       "target triples whose packages (and rustup-init) are mirrored, e.g. "
       "x86_64-unknown-linux-gnu (required); target-independent packages "
       "always are"},
      {"--history-days", "history-days", Kind::kValue,
       "also mirror the dated manifests "
       "dist/YYYY-MM-DD/channel-rust-<channel>.toml of the N "
       "days up to each channel's current date, and what they name"},
      {"--no-rustup-init", "no-rustup-init", Kind::kFlag,
       "skip rustup/release-stable.toml and the rustup-init binaries"},
  };
  d.paths.is_blob = is_blob;
  d.paths.types = {{"toml", "text/plain; charset=utf-8"},
                   {"sha256", "text/plain; charset=utf-8"},
                   {"asc", "application/pgp-signature"},
                   {"xz", "application/x-xz"},
                   {"gz", "application/gzip"},
                   {"zst", "application/zstd"}};
  return d;
}

} // namespace depot::rustup

// rustup channel manifests (upstream bytes) through parse_channel_manifest, and
// the same bytes through parse_sha256_file and parse_release_version. Oracles:
// every accepted artifact is for the chosen target or "*", has a 64-hex
// lowercase sha256 and a safe mirror path dist/YYYY-MM-DD/<file> that is no
// channel manifest; the manifest date is a real date and days_before() of it
// stays one.

#include <string>

#include "core/rel_path.h"
#include "fuzz_util.h"
#include "sources/rustup/manifest.h"

using depot::fuzz::check;
namespace rustup = depot::rustup;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view text = depot::fuzz::as_text(data, size);
  const std::string target = "x86_64-unknown-linux-gnu";
  (void)rustup::parse_sha256_file(text, "fuzz.sha256");
  auto version = rustup::parse_release_version(text, "release-stable.toml");
  if (version.ok()) {
    check(depot::RelPath::parse("rustup/archive/" + *version + "/x/rustup-init")
              .ok(),
          "rustup: accepted a release version that is unsafe in a path");
  }
  auto m = rustup::parse_channel_manifest(text, {target}, "http://up.example",
                                          "fuzz.toml");
  if (!m.ok())
    return 0;
  check(rustup::valid_date(m->date),
        "rustup: accepted an invalid manifest date");
  for (int days : {0, 1, 400}) {
    check(rustup::valid_date(rustup::days_before(m->date, days)),
          "rustup: days_before broke");
  }
  for (const auto &a : m->artifacts) {
    check(a.target == target || a.target == "*",
          "rustup: artifact of a target not chosen");
    check(a.sha256.size() == 64 && a.sha256.find_first_not_of(
                                       "0123456789abcdef") == std::string::npos,
          "rustup: accepted a hash that is not 64 lowercase hex digits");
    auto rel = depot::RelPath::parse(a.path);
    check(rel.ok() && rel->str() == a.path, "rustup: unsafe artifact path");
    check(a.path.starts_with("dist/") &&
              rustup::valid_date(a.path.substr(5, 10)) && a.path.size() > 16 &&
              a.path[15] == '/' && a.path.find('/', 16) == std::string::npos &&
              !a.path.substr(16).starts_with("channel-rust-"),
          "rustup: artifact path outside dist/YYYY-MM-DD/");
  }
  return 0;
}

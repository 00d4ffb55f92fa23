// npm packuments (upstream bytes) through Packument::parse, keep_versions/latest_versions,
// rewrite_tarballs and both output forms; SRI strings through parse_integrity; semver order. The
// first line names the package the document is for; the rest is the document. Oracles: every
// accepted version is valid, its mirror path NAME/-/FILE is a safe relative path, it has a sha512
// or sha1 digest of the right length; the rewritten full and abbreviated forms parse again with the
// same versions, each tarball at the rewritten URL; compare_semver is antisymmetric.

#include <algorithm>
#include <string>

#include "core/rel_path.h"
#include "fuzz_util.h"
#include "sources/npm/packument.h"

using depot::fuzz::check;
namespace npm = depot::npm;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = depot::fuzz::as_text(data, size);
  size_t nl = text.find('\n');
  std::string_view name = text.substr(0, std::min(nl, size_t{240}));
  std::string_view body = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);

  (void)npm::parse_integrity(body.substr(0, 600));
  auto doc = npm::Packument::parse(body, name, "fuzz");
  if (!doc.ok()) return 0;
  check(npm::valid_package_name(name), "npm: accepted a packument for an invalid name");
  const auto& versions = doc->versions();
  for (size_t i = 0; i < versions.size(); ++i) {
    const auto& v = versions[i];
    check(npm::valid_version(v.version), "npm: accepted an invalid version");
    check(depot::RelPath::parse(std::string(name) + "/-/" + v.tarball.file).ok(),
          "npm: mirror path of an accepted tarball is unsafe");
    const auto& d = v.tarball.digests;
    check(d.sha512.size() == 128 || (d.sha512.empty() && d.sha1.size() == 40),
          "npm: accepted a version without a usable digest");
    for (const auto& dep : v.deps) check(npm::valid_package_name(dep), "npm: bad dependency");
    if (i > 0) {
      int a = npm::compare_semver(versions[i - 1].version, v.version);
      int b = npm::compare_semver(v.version, versions[i - 1].version);
      check(a <= 0 && a == -b, "npm: semver order is not antisymmetric");
    }
  }
  const size_t n = versions.size();
  auto keep = npm::latest_versions(*doc, 2);
  check(keep.size() <= n, "npm: latest_versions invented a version");
  if (!text.empty() && text.back() % 2 == 0) doc->keep_versions(keep);
  const std::string base = "http://mirror.example/" + std::string(name) + "/-/";
  doc->rewrite_tarballs([&](std::string_view, const npm::Tarball& t) { return base + t.file; });
  for (const std::string& out : {doc->full_json(), doc->abbreviated_json()}) {
    auto again = npm::Packument::parse(out, name, "again");
    check(again.ok(), "npm: a rewritten packument does not parse again");
    check(again->versions().size() == doc->versions().size(), "npm: rewriting lost versions");
    for (const auto& v : again->versions()) {
      check(v.tarball.url == base + v.tarball.file, "npm: a tarball URL was not rewritten");
    }
  }
  return 0;
}

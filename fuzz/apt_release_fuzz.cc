// apt Release and InRelease: the clearsigned text extraction, parse_release with its checksum
// lists, Release dates, index classification, and serve's RootIndex over both root names.

#include <string>

#include "fuzz_util.h"
#include "serve/root_index.h"
#include "sources/apt/release.h"

namespace {

void use_release(const depot::apt::Release& r) {
  (void)depot::apt::parse_release_date(r.date);
  (void)depot::apt::parse_release_date(r.valid_until);
  depot::apt::Selection all;
  depot::apt::Selection some{.components = {"main", "non-free/debian-installer"},
                             .archs = {"amd64", "source", "all"},
                             .contents = true};
  for (const auto& f : r.files) {
    (void)depot::apt::classify_index(f.path, all);
    (void)depot::apt::classify_index(f.path, some);
  }
}

void root_index(const char* root, std::string_view text, const depot::apt::Release* r) {
  depot::RootIndex index;
  std::string rel = "debian/dists/stable/" + (r && !r->files.empty() ? r->files[0].path : "x");
  (void)index.lookup(root, "v1", text, rel);
  bool parsed = false;
  (void)index.lookup_parsed(root, "v1", rel, &parsed);
  depot::fuzz::check(parsed, "RootIndex: version not memoized");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = depot::fuzz::as_text(data, size);
  // Dates are parsed on their own too: the first line as a Date value.
  (void)depot::apt::parse_release_date(text.substr(0, text.find('\n')));
  auto release = depot::apt::parse_release(text, "Release");
  if (release.ok()) use_release(*release);
  root_index("debian/dists/stable/Release", text, release.ok() ? &*release : nullptr);

  auto signed_text = depot::apt::clearsigned_text(text, "InRelease");
  if (signed_text.ok()) {
    depot::fuzz::check(signed_text->size() <= text.size(), "clearsigned text longer than input");
    auto inner = depot::apt::parse_release(*signed_text, "InRelease");
    if (inner.ok()) use_release(*inner);
  }
  root_index("debian/dists/stable/InRelease", text, nullptr);
  return 0;
}

// yum primary.xml: PrimaryParser fed the input whole and in pieces must hand over the same
// packages, or fail on both; every package it hands over is validated.

#include <string>
#include <vector>

#include "fuzz_util.h"
#include "sources/yum/primary.h"

namespace {

struct Parsed {
  bool ok = false;
  std::vector<depot::yum::Package> packages;
};

Parsed parse(const std::vector<std::string_view>& chunks) {
  Parsed out;
  depot::yum::PrimaryParser parser("primary.xml", [&](depot::yum::Package&& p) {
    out.packages.push_back(std::move(p));
    return depot::ok_status();
  });
  for (std::string_view c : chunks) {
    if (!parser.feed(c).ok()) return out;
  }
  out.ok = parser.finish().ok();
  if (out.ok) depot::fuzz::check(parser.packages() == out.packages.size(), "primary: count");
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = depot::fuzz::as_text(data, size);
  Parsed whole = parse({text});
  Parsed pieces = parse(depot::fuzz::split_chunks(text));
  depot::fuzz::check(whole.ok == pieces.ok, "primary: whole and chunked feed disagree on success");
  if (!whole.ok) return 0;
  depot::fuzz::check(whole.packages.size() == pieces.packages.size(), "primary: package count");
  for (size_t i = 0; i < whole.packages.size(); ++i) {
    const auto& a = whole.packages[i];
    const auto& b = pieces.packages[i];
    depot::fuzz::check(a.name == b.name && a.path == b.path && a.base == b.base &&
                           a.size == b.size && a.digests == b.digests,
                       "primary: whole and chunked packages differ");
    depot::fuzz::check(!a.digests.empty() && !a.path.str().starts_with("repodata/"),
                       "primary: package without checksum or inside repodata/");
  }
  return 0;
}

// conda repodata.json: parse_repodata, the push-style RepodataParser fed in pieces, and the
// file loader must agree; every accepted record is a plain, non-reserved file name.

#include <string>

#include "fuzz_util.h"
#include "sources/conda/repodata.h"

namespace {

using depot::Result;
using depot::conda::Repodata;

void check_same(const Result<Repodata>& a, const Result<Repodata>& b, const char* what) {
  depot::fuzz::check(a.ok() == b.ok(), what);
  if (!a.ok()) return;
  depot::fuzz::check(a->subdir == b->subdir && a->base_url == b->base_url, what);
  depot::fuzz::check(a->packages.size() == b->packages.size(), what);
  for (size_t i = 0; i < a->packages.size(); ++i) {
    const auto& x = a->packages[i];
    const auto& y = b->packages[i];
    depot::fuzz::check(x.filename == y.filename && x.size == y.size && x.digests == y.digests,
                       what);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = depot::fuzz::as_text(data, size);
  auto whole = depot::conda::parse_repodata(text, "repodata.json");
  depot::conda::RepodataParser parser("repodata.json");
  for (std::string_view chunk : depot::fuzz::split_chunks(text)) parser.feed(chunk);
  check_same(whole, parser.finish(), "conda: parse_repodata and RepodataParser disagree");
  auto in = depot::memory_source(std::make_shared<const std::string>(text));
  check_same(whole, depot::conda::parse_repodata(*in, "repodata.json"),
             "conda: parse_repodata of the text and of a ByteSource disagree");
  if (whole.ok()) {
    for (const auto& p : whole->packages) {
      depot::fuzz::check(p.filename.find('/') == std::string::npos &&
                             !depot::conda::is_reserved_index_name(p.filename),
                         "conda: unsafe file name accepted");
    }
  }
  return 0;
}

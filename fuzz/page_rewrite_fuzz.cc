// The rewrite of PyPI simple pages fetched through the cache (upstream bytes), as JSON and as
// HTML, with serve's mapping of upstream URLs, and the Accept header choice.

#include <string>
#include <vector>

#include "fuzz_util.h"
#include "serve/page_rewrite.h"
#include "sources/pypi/page_rewrite.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = depot::fuzz::as_text(data, size);
  static const std::vector<depot::UpstreamConfig> upstreams = {
      {"pypi", "https://pypi.example"},
      {"files", "https://files.example/packages"},
      {"", "http://root.example"},
  };
  for (bool json : {true, false}) {
    auto page = depot::pypi::rewrite_simple_page(
        text, json, "https://pypi.example/simple/proj/",
        [](std::string_view url) { return depot::local_path_for(url, upstreams); });
    if (!page.ok()) continue;
    for (const auto& [rel, sha] : page->digests) {
      depot::fuzz::check(sha.size() == 64, "page_rewrite: digest is not 64 hex digits");
    }
  }
  (void)depot::pypi::prefers_json(text.substr(0, 256));
  (void)depot::directory_pages(text.substr(0, 256));
  return 0;
}

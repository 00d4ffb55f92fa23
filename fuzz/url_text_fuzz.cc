// Text helpers applied to upstream links and names: PyPI's resolve_url, names and file-name
// checks; serve's local_path_for; HTML escaping; URL path escaping. Input: a
// base URL on the first line, a reference on the second. Oracles: html_unescape undoes
// html_escape; an accepted PyPI link is an http(s) URL without a fragment.

#include <string>
#include <vector>

#include "core/html_text.h"
#include "core/rel_path.h"
#include "fuzz_util.h"
#include "serve/page_rewrite.h"
#include "sources/pypi/simple_index.h"
#include "sources/source.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = depot::fuzz::as_text(data, size);
  size_t nl = text.find('\n');
  std::string_view base = text.substr(0, nl);
  std::string_view ref = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);

  auto url = depot::pypi::resolve_url(base, ref);
  if (url.ok() && base.find('#') == std::string_view::npos) {  // page URLs carry no fragment
    depot::fuzz::check(url->starts_with("http://") || url->starts_with("https://"),
                       "pypi resolve_url: not http(s)");
    depot::fuzz::check(url->find('#') == std::string::npos, "pypi resolve_url: kept a fragment");
  }
  static const std::vector<depot::UpstreamConfig> upstreams = {{"pypi", "https://pypi.example"},
                                                               {"", "http://root.example/x"}};
  if (url.ok()) (void)depot::local_path_for(*url, upstreams);

  const std::string name = depot::pypi::normalize_name(ref);
  if (depot::pypi::valid_project_name(ref)) {
    depot::fuzz::check(depot::pypi::valid_project_name(name), "pypi: normalized name invalid");
  }
  (void)depot::pypi::check_filename(ref, "fuzz");
  (void)depot::pypi::looks_like_json(text);

  depot::fuzz::check(depot::html_unescape(depot::html_escape(text)) == text,
                     "html_text: unescape does not undo escape");
  (void)depot::html_unescape(text);
  (void)depot::escape_url_path(ref);
  (void)depot::join_url(base, ref);
  (void)depot::quote_untrusted(text);
  return 0;
}

#pragma once
// PyPI simple pages (PEP 503 HTML, PEP 691 JSON) through a cache: which form a client asks for,
// and the page rewritten so that file links into an upstream point at the cache, with the
// sha256 each declares collected (so the cache verifies those files). Links elsewhere are left
// as they are. Pure; thread-safe.

#include <string_view>

#include "core/result.h"
#include "sources/registry.h"

namespace depot::pypi {

inline constexpr std::string_view kSimpleJson = "application/vnd.pypi.simple.v1+json";

// True when an Accept header prefers the PEP 691 JSON form (listed, q not below HTML's).
bool prefers_json(std::string_view accept);

// `json`: PEP 691 JSON (files[].url, files[].hashes.sha256), else HTML (href attributes with
// "#sha256=" fragments). `page_url` is the URL the page was fetched from. A JSON page that does
// not parse is kParse; HTML is scanned leniently.
Result<RewrittenPage> rewrite_simple_page(std::string_view body, bool json,
                                          std::string_view page_url, const LocalPathFn& local_path);

}  // namespace depot::pypi

#pragma once
// Rewrites PyPI simple pages (PEP 503 HTML, PEP 691 JSON) fetched through the cache so that file
// links which point into any configured upstream point at the matching local prefix instead, and
// collects the sha256 each page declares for those files (so the cache can verify them). Links
// elsewhere are left as they are. Pure; thread-safe.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace depot {

struct UpstreamConfig {
  std::string prefix;  // request path prefix without slashes, e.g. "debian" ("" = everything)
  std::string url;     // base URL without a trailing slash
};

inline constexpr std::string_view kPypiSimpleJson = "application/vnd.pypi.simple.v1+json";

// True when an Accept header prefers the PEP 691 JSON form (listed, q not below HTML's).
bool prefers_pypi_json(std::string_view accept);

struct RewrittenPage {
  std::string body;
  std::vector<std::pair<std::string, std::string>> digests;  // local rel -> sha256 hex
};

// Resolves `ref` against `base` (an absolute http(s) URL) per RFC 3986 (dot segments removed;
// query and fragment of `ref` kept).
std::string resolve_url(std::string_view base, std::string_view ref);

// The local request path ("/prefix/rest") of an absolute URL under one of `upstreams` (the
// longest matching URL wins), or "" when it is under none.
std::string local_path_for(std::string_view url, const std::vector<UpstreamConfig>& upstreams);

// `json`: PEP 691 JSON (files[].url, files[].hashes.sha256), else HTML (href attributes with
// "#sha256=" fragments). `page_url` is the URL the page was fetched from. A JSON page that does
// not parse is kParse; HTML is scanned leniently.
Result<RewrittenPage> rewrite_simple_page(std::string_view body, bool json,
                                          std::string_view page_url,
                                          const std::vector<UpstreamConfig>& upstreams);

}  // namespace depot

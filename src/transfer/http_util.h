#pragma once
// Small pure helpers of the HTTP downloader and its users: URL checks, the per-host key of a URL,
// and header-line parsing.

#include <string>
#include <string_view>

namespace depot {

// "scheme://host:port" of a URL, lower case, default port filled in; "" when unparsable.
std::string host_key(std::string_view url);

// True for an http:// or https:// URL (lower-case scheme, as registries and users write them).
inline bool is_http_url(std::string_view url) {
  return url.starts_with("http://") || url.starts_with("https://");
}

// True when `line` is a header line named `name` (case-insensitive), e.g. "ETag: x".
bool header_is(std::string_view line, std::string_view name);

// The value of header line `line` whose name is `name_len` long, without surrounding blanks
// and the line break.
std::string_view header_value(std::string_view line, size_t name_len);

// `url` with its path in SigV4 canonical form: percent-escapes decoded, then every byte but
// A-Z a-z 0-9 - . _ ~ and '/' encoded (upper-case hex). Scheme, authority and query unchanged.
std::string sigv4_canonical_url(std::string_view url);

}  // namespace depot

#pragma once
// Small pure helpers of the HTTP downloader and its users: URL checks, the per-host key of a URL,
// header-line parsing, and AWS's URI encoding. Pure functions, thread-safe.

#include <cstdint>
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

// `text` percent-encoded as AWS SigV4 and S3 want it: the RFC 3986 unreserved bytes
// A-Z a-z 0-9 - . _ ~ kept, '/' kept when `keep_slash`, every other byte as %XX in upper-case
// hex. The canonical form of a path or object key (keep_slash) or of a query value (not).
std::string aws_uri_encode(std::string_view text, bool keep_slash);

// `url` with its path in SigV4 canonical form: each '/'-separated segment with its valid
// %XX escapes decoded, then aws_uri_encode'd (an escaped '/' stays %2F, a stray '%' becomes
// %25). Scheme, authority and query unchanged.
std::string sigv4_canonical_url(std::string_view url);

// "HOST:PORT", "[V6]:PORT" or ":PORT" (any address) into host and port; false when malformed.
bool parse_host_port(std::string_view text, std::string& host, uint16_t& port);

// `text` with the user information of every URL in it ("https://user:token@host/...") replaced
// by "***", for what is shown or published (status pages, trace files, logs).
std::string redact_credentials(std::string_view text);

}  // namespace depot

#pragma once
// s3://bucket/prefix locations, object keys under a prefix, and decoding S3's url-encoded
// answers (requests are encoded with aws_uri_encode, transfer/http_util.h).
// Pure functions, thread-safe.

#include <string>
#include <string_view>

#include "core/result.h"

namespace depot {

inline constexpr size_t kS3MaxKeyBytes = 1024;  // S3's limit on a whole object key

// Where a mirror lives in object storage: a bucket and a key prefix ("" or "a/b", no leading
// or trailing '/').
struct S3Location {
  std::string bucket;
  std::string prefix;

  // The full object key of `key` (relative to the prefix): "prefix/key", or `key`.
  std::string object_key(std::string_view key) const;
  // "s3://bucket/prefix/key" (or "s3://bucket/prefix" for an empty key), for messages.
  std::string url(std::string_view key = {}) const;
  friend bool operator==(const S3Location&, const S3Location&) = default;
};

// Parses "s3://bucket[/prefix[/]]". Refused, with a message naming the URL: another scheme, a
// bucket name S3 would refuse (3-63 of [a-z0-9.-], starting and ending alphanumeric, no ".."),
// empty, "." or ".." prefix segments, control bytes, '\\', '?' or '#', a prefix over 512 bytes.
Result<S3Location> parse_s3_url(std::string_view url);

// Checks a key relative to a prefix before a request: non-empty, no leading '/', no empty, "."
// or ".." segments, no control bytes, and the full key within kS3MaxKeyBytes. The error names
// loc.url(key).
Status check_s3_key(const S3Location& loc, std::string_view key);

// Decodes a value of an S3 answer sent with encoding-type=url: %XX escapes, and '+' as a space
// (AWS encodes a space as '+'; RGW sends %20 and %2B). A bad escape fails.
Result<std::string> s3_url_decode(std::string_view text);

}  // namespace depot

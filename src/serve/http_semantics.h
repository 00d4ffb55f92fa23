#pragma once
// HTTP/1.1 semantics that do not depend on the server: Range (RFC 9110 §14), conditional
// requests (§13), validators, dates and Content-Type by file name. Pure functions; thread-safe.

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

#include <sys/stat.h>

namespace depot {

// Content-Type for a file name (last path component): generic extensions (".json", ".html",
// ".xml", ".gz", ".xz", ".bz2", ".zst", ".gpg", ".asc", ".key", ".txt", ...), then each
// registry's own (PathRules::types: ".deb", ".rpm", ".whl", ...) and extension-less index names
// (PathRules::text_names/text_prefixes: "InRelease", "Packages", "Contents-*" as text/plain);
// "application/octet-stream" otherwise.
std::string_view content_type_for(std::string_view filename);

// Strong validator from size and mtime: "\"<mtime seconds hex>-<size hex>\"" (as nginx does).
std::string make_etag(uint64_t size, int64_t mtime_sec);
// Strong validator of a local file: "\"<inode hex>-<mtime s hex>.<ns hex>-<size hex>\"", so a
// file replaced within the same second by one of the same size still gets a new ETag.
std::string make_file_etag(const struct stat& st);

// IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
std::string format_http_date(std::time_t t);
// Parses IMF-fixdate, RFC 850 and asctime forms; nullopt when malformed.
std::optional<std::time_t> parse_http_date(std::string_view text);

// Outcome of a request's preconditions, in RFC 9110 §13.2.2 order:
// If-Match, If-Unmodified-Since (only without If-Match), If-None-Match, If-Modified-Since (only
// for GET/HEAD and only without If-None-Match). Empty header values mean "absent".
enum class Precondition { kProceed, kNotModified /*304*/, kFailed /*412*/ };
struct Validators {
  std::string_view etag{};     // the representation's current strong ETag, quoted
  std::time_t last_modified = 0;  // 0: none (If-Modified-Since and If-Unmodified-Since ignored)
};
// Default member initializers let callers use designated initializers under -Wextra.
struct ConditionalHeaders {
  std::string_view if_match{};
  std::string_view if_none_match{};
  std::string_view if_modified_since{};
  std::string_view if_unmodified_since{};
};
Precondition evaluate_preconditions(const ConditionalHeaders& h, const Validators& v,
                                    bool get_or_head);

// A single byte range, inclusive bounds, already clipped to the representation size.
struct ByteRange {
  uint64_t first = 0;
  uint64_t last = 0;
  uint64_t length() const { return last - first + 1; }
};
enum class RangeKind {
  kNone,           // no usable Range: send 200 with the whole body (absent, malformed, a unit
                   // other than bytes, several ranges, or If-Range did not match)
  kSatisfiable,    // send 206 with `range`
  kUnsatisfiable,  // send 416 with "Content-Range: bytes */<size>"
};
struct RangeDecision {
  RangeKind kind = RangeKind::kNone;
  ByteRange range;
};
// Evaluates "Range" (and "If-Range", empty when absent) against a representation of `size` bytes
// with validators `v`. Forms: "bytes=a-b", "bytes=a-", "bytes=-n". A first byte at or beyond the
// size is unsatisfiable; a last byte beyond it is clipped; "bytes=-0" is unsatisfiable. An
// If-Range that is a date or an ETag not equal to v.etag (strong comparison) yields kNone.
RangeDecision evaluate_range(std::string_view range, std::string_view if_range, uint64_t size,
                             const Validators& v);

// "bytes <first>-<last>/<size>".
std::string content_range(const ByteRange& r, uint64_t size);
// Parses a response's "bytes FIRST-LAST/TOTAL"; nullopt when malformed (or first > last, or
// last >= total). `size` is set to TOTAL.
std::optional<ByteRange> parse_content_range(std::string_view v, uint64_t& size);

// The framing-relevant parts of a parsed request header (RFC 9112).
struct RequestFraming {
  unsigned version = 11;                 // 10 or 11
  size_t host_fields = 0;                // Host header fields present
  std::string_view transfer_encoding{};  // the combined Transfer-Encoding value; empty: absent
  bool has_transfer_encoding = false;
  bool has_content_length = false;
};
// Why a request cannot be served safely, or nullopt: a Transfer-Encoding whose final coding is
// not "chunked" (its body cannot be delimited, RFC 9112 §6.3), Transfer-Encoding together with
// Content-Length (§6.1: a smuggling vector), an HTTP/1.1 request without a Host or any request
// with more than one (§3.2). Each calls for 400 and closing the connection.
std::optional<std::string> framing_error(const RequestFraming& r);

}  // namespace depot

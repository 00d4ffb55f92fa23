#pragma once
// Typed reading of control API requests: JSON bodies parsed within limits, fields read by type,
// query parameters and ids parsed strictly. Every failure is a kInvalidArgument error naming the
// field, and quotes client text with quote_input. Pure functions, thread-safe.

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace depot::pool {

// `text` for a message: double-quoted, at most `max` bytes of it, quotes, backslashes and bytes
// outside printable ASCII escaped (\", \\, \xNN), "..." after the quote when cut.
std::string quote_input(std::string_view text, size_t max = 64);

struct BodyLimits {
  size_t max_values = 1 << 18;  // JSON values (objects, arrays, strings, numbers...) in a body
  size_t max_depth = 16;        // nesting of objects and arrays
  size_t max_string = 4096;     // bytes of one string or key (PATH_MAX)
};

// A request body as a JSON object: "" is {}; anything that is not one JSON object within
// `limits` is an error. The limits are checked before a document is built.
Result<nlohmann::json> parse_body(std::string_view body, const BodyLimits& limits = {});

// Typed fields of a body object. Absent fields take the fallback (or are an error when
// required); present ones must have the type asked for; null counts as present.
class BodyFields {
 public:
  explicit BodyFields(const nlohmann::json& object) : object_(object) {}

  Result<std::string> string(std::string_view key) const;  // required
  Result<std::optional<std::string>> optional_string(std::string_view key) const;
  Result<bool> boolean(std::string_view key, bool fallback) const;
  // Required: a non-empty array of strings.
  Result<std::vector<std::string>> strings(std::string_view key) const;
  // An error naming the first field whose key is not in `known`.
  Status only(std::initializer_list<std::string_view> known) const;

 private:
  const nlohmann::json& object_;
};

// The parameters of a request target's query string ("?a=1&b=x"), without percent-decoding.
class QueryParams {
 public:
  // Errors: a key not in `known`, or a key given twice.
  static Result<QueryParams> parse(std::string_view target,
                                   std::initializer_list<std::string_view> known);
  std::optional<std::string_view> get(std::string_view key) const;
  // The value of `key` as a decimal integer in [0, max], or `fallback` when absent.
  Result<uint64_t> number(std::string_view key, uint64_t fallback, uint64_t max) const;

 private:
  std::vector<std::pair<std::string_view, std::string_view>> items_;
};

// `text` as a positive decimal id; the error quotes `text` and names `what` ("job id").
Result<int64_t> parse_id(std::string_view text, std::string_view what);

}  // namespace depot::pool

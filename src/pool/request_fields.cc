#include "pool/request_fields.h"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

namespace depot::pool {
namespace {

using json = nlohmann::json;

Error invalid(std::string message) {
  return make_error(ErrorCode::kInvalidArgument, std::move(message));
}

std::string field_name(std::string_view key) { return "field " + quote_input(key); }

// Counts values and nesting without building anything; stops at the first limit passed.
class LimitCheck {
 public:
  explicit LimitCheck(const BodyLimits& limits) : limits_(limits) {}

  bool null() { return value(); }
  bool boolean(bool) { return value(); }
  bool number_integer(json::number_integer_t) { return value(); }
  bool number_unsigned(json::number_unsigned_t) { return value(); }
  bool number_float(json::number_float_t, const json::string_t&) { return value(); }
  bool string(json::string_t& s) { return text(s) && value(); }
  bool binary(json::binary_t&) { return value(); }
  bool key(json::string_t& s) { return text(s) && value(); }
  bool start_object(size_t) { return open(); }
  bool start_array(size_t) { return open(); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool parse_error(size_t position, const std::string&, const nlohmann::detail::exception&) {
    syntax_error_at_ = position;
    return false;
  }

  // The reason the check stopped, if it did.
  std::optional<Error> failure() const {
    if (too_many_) {
      return invalid("the request body has more than " + std::to_string(limits_.max_values) +
                     " JSON values");
    }
    if (too_long_) {
      return invalid("the request body has a string longer than " +
                     std::to_string(limits_.max_string) + " bytes");
    }
    if (too_deep_) {
      return invalid("the request body nests deeper than " + std::to_string(limits_.max_depth) +
                     " levels");
    }
    if (syntax_error_at_) {
      return invalid("the request body is not valid JSON (error at byte " +
                     std::to_string(*syntax_error_at_) + ")");
    }
    return std::nullopt;
  }

 private:
  bool value() {
    too_many_ = ++values_ > limits_.max_values;
    return !too_many_;
  }
  bool text(const json::string_t& s) {
    too_long_ = s.size() > limits_.max_string;
    return !too_long_;
  }
  bool open() {
    too_deep_ = ++depth_ > limits_.max_depth;
    return !too_deep_ && value();
  }
  bool close() {
    --depth_;
    return true;
  }

  const BodyLimits& limits_;
  size_t values_ = 0;
  size_t depth_ = 0;
  bool too_many_ = false;
  bool too_deep_ = false;
  bool too_long_ = false;
  std::optional<size_t> syntax_error_at_;
};

}  // namespace

std::string quote_input(std::string_view text, size_t max) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : text.substr(0, max)) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  out += '"';
  if (text.size() > max) out += "...";
  return out;
}

Result<json> parse_body(std::string_view body, const BodyLimits& limits) {
  if (body.empty()) return json::object();
  LimitCheck check(limits);
  if (!json::sax_parse(body.begin(), body.end(), &check)) {
    if (auto e = check.failure()) return *e;
    return invalid("the request body is not valid JSON");
  }
  json doc = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return invalid("the request body is not a JSON object");
  return doc;
}

Result<std::string> BodyFields::string(std::string_view key) const {
  DEPOT_ASSIGN_OR_RETURN(std::optional<std::string> s, optional_string(key));
  if (!s) return invalid(field_name(key) + " is required");
  return std::move(*s);
}

Result<std::optional<std::string>> BodyFields::optional_string(std::string_view key) const {
  auto it = object_.find(key);
  if (it == object_.end()) return std::optional<std::string>();
  if (!it->is_string()) return invalid(field_name(key) + " must be a string");
  return std::optional<std::string>(it->get<std::string>());
}

Result<bool> BodyFields::boolean(std::string_view key, bool fallback) const {
  auto it = object_.find(key);
  if (it == object_.end()) return fallback;
  if (!it->is_boolean()) return invalid(field_name(key) + " must be true or false");
  return it->get<bool>();
}

Result<std::vector<std::string>> BodyFields::strings(std::string_view key) const {
  const std::string want = field_name(key) + " must be a non-empty array of strings";
  auto it = object_.find(key);
  if (it == object_.end()) return invalid(field_name(key) + " is required");
  if (!it->is_array() || it->empty()) return invalid(want);
  std::vector<std::string> out;
  out.reserve(it->size());
  for (const json& item : *it) {
    if (!item.is_string()) {
      return invalid(want + " (item " + std::to_string(out.size()) + " is not)");
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

Status BodyFields::only(std::initializer_list<std::string_view> known) const {
  for (const auto& [key, value] : object_.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return invalid("unknown " + field_name(key));
    }
  }
  return {};
}

Result<QueryParams> QueryParams::parse(std::string_view target,
                                       std::initializer_list<std::string_view> known) {
  QueryParams q;
  size_t mark = target.find('?');
  if (mark == std::string_view::npos) return q;
  std::string_view rest = target.substr(mark + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view item = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    std::string_view key = item.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? "" : item.substr(eq + 1);
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return invalid("unknown query parameter " + quote_input(key));
    }
    if (q.get(key)) return invalid("query parameter " + quote_input(key) + " given twice");
    q.items_.emplace_back(key, value);
  }
  return q;
}

std::optional<std::string_view> QueryParams::get(std::string_view key) const {
  for (const auto& [k, v] : items_) {
    if (k == key) return v;
  }
  return std::nullopt;
}

Result<uint64_t> QueryParams::number(std::string_view key, uint64_t fallback, uint64_t max) const {
  std::optional<std::string_view> v = get(key);
  if (!v) return fallback;
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (v->empty() || ec != std::errc() || end != v->data() + v->size() || n > max) {
    return invalid("query parameter " + quote_input(key) + " must be a whole number from 0 to " +
                   std::to_string(max) + ", not " + quote_input(*v));
  }
  return n;
}

Result<int64_t> parse_id(std::string_view text, std::string_view what) {
  int64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || id <= 0) {
    return invalid("not a " + std::string(what) + ": " + quote_input(text));
  }
  return id;
}

}  // namespace depot::pool

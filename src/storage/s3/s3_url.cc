#include "storage/s3/s3_url.h"

#include "core/rel_path.h"
#include "core/text.h"

namespace depot {
namespace {

constexpr std::string_view kScheme = "s3://";
constexpr size_t kMaxPrefixBytes = 512;

bool is_alnum_lower(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool is_control(char c) {
  auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

// Empty string when `bucket` is acceptable, else why not.
std::string bucket_problem(std::string_view bucket) {
  if (bucket.empty()) return "no bucket name";
  if (bucket.size() < 3 || bucket.size() > 63) return "a bucket name has 3 to 63 characters";
  for (char c : bucket) {
    if (!is_alnum_lower(c) && c != '-' && c != '.') {
      return "a bucket name has only lower-case letters, digits, '-' and '.'";
    }
  }
  if (!is_alnum_lower(bucket.front()) || !is_alnum_lower(bucket.back())) {
    return "a bucket name starts and ends with a letter or digit";
  }
  if (bucket.find("..") != std::string_view::npos) return "a bucket name has no \"..\"";
  return {};
}

// Empty string when every '/'-separated segment of `path` is a plain name, else why not.
std::string segments_problem(std::string_view path) {
  for (char c : path) {
    if (is_control(c)) return "control characters";
    if (c == '\\') return "a backslash";
  }
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    std::string_view seg =
        path.substr(start, slash == std::string_view::npos ? path.npos : slash - start);
    if (seg.empty()) return "an empty path segment";
    if (seg == "." || seg == "..") return "a \".\" or \"..\" segment";
    if (slash == std::string_view::npos) return {};
    start = slash + 1;
  }
}

}  // namespace

std::string S3Location::object_key(std::string_view key) const {
  if (prefix.empty()) return std::string(key);
  if (key.empty()) return prefix;
  std::string out = prefix;
  out += '/';
  out += key;
  return out;
}

std::string S3Location::url(std::string_view key) const {
  std::string out(kScheme);
  out += bucket;
  std::string full = object_key(key);
  if (!full.empty()) {
    out += '/';
    out += full;
  }
  return out;
}

Result<S3Location> parse_s3_url(std::string_view url) {
  auto refuse = [&](const std::string& why) {
    return make_error(ErrorCode::kInvalidArgument,
                      quote_untrusted(url) + ": not a usable s3://bucket/prefix URL: " + why);
  };
  if (!url.starts_with(kScheme)) return refuse("it does not start with s3://");
  std::string_view rest = url.substr(kScheme.size());
  size_t slash = rest.find('/');
  S3Location loc;
  loc.bucket = std::string(rest.substr(0, slash));
  if (std::string why = bucket_problem(loc.bucket); !why.empty()) return refuse(why);
  std::string_view prefix = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  if (prefix.ends_with('/')) prefix.remove_suffix(1);
  if (prefix.empty()) return loc;
  if (prefix.size() > kMaxPrefixBytes) return refuse("the prefix is longer than 512 bytes");
  if (prefix.find_first_of("?#") != std::string_view::npos) return refuse("'?' or '#' in it");
  if (std::string why = segments_problem(prefix); !why.empty()) return refuse(why);
  loc.prefix = std::string(prefix);
  return loc;
}

Status check_s3_key(const S3Location& loc, std::string_view key) {
  std::string why;
  if (key.empty()) {
    why = "an empty key";
  } else if (loc.object_key(key).size() > kS3MaxKeyBytes) {
    why = "the key is longer than 1024 bytes";
  } else {
    why = segments_problem(key);
  }
  if (why.empty()) return ok_status();
  return make_error(ErrorCode::kUnsafePath,
                    quote_untrusted(loc.url(key)) + ": refused as an object key: " + why);
}

Result<std::string> s3_url_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] != '%') {
      out += text[i];
    } else {
      int hi = i + 2 < text.size() ? hex_digit_value(text[i + 1]) : -1;
      int lo = hi >= 0 ? hex_digit_value(text[i + 2]) : -1;
      if (lo < 0) {
        return make_error(ErrorCode::kParse,
                          "bad %-escape in an url-encoded S3 value: " + quote_untrusted(text));
      }
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    }
  }
  return out;
}

}  // namespace depot

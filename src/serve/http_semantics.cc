#include "serve/http_semantics.h"

#include <array>
#include <cinttypes>
#include <cstdio>
#include <limits>
#include <vector>

#include "core/text.h"
#include "sources/registry.h"

namespace depot {
namespace {

constexpr std::string_view kText = "text/plain; charset=utf-8";
constexpr std::string_view kOctet = "application/octet-stream";

struct ExtType {
  std::string_view ext;  // lowercase, without the dot
  std::string_view type;
};
constexpr ExtType kByExtension[] = {
    {"zip", "application/zip"},
    {"json", "application/json"},
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"xml", "application/xml"},
    {"gz", "application/gzip"},
    {"xz", "application/x-xz"},
    {"lzma", "application/x-lzma"},
    {"bz2", "application/x-bzip2"},
    {"zst", "application/zstd"},
    {"tar", "application/x-tar"},
    {"gpg", "application/pgp-signature"},
    {"asc", "application/pgp-signature"},
    {"sig", "application/pgp-signature"},
    {"key", "application/pgp-keys"},
    {"txt", kText},
    {"toml", kText},
    {"sha256", kText},
};

constexpr std::array<std::string_view, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 7> kLongDays = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                       "Thursday", "Friday", "Saturday"};
constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Days since 1970-01-01 of a proleptic Gregorian date (month 1..12).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

unsigned days_in_month(int64_t y, unsigned m) {
  static constexpr unsigned kDaysIn[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDaysIn[m - 1];
}

// A tiny cursor over a date string; every method consumes on success only.
struct Cursor {
  std::string_view s;
  bool lit(std::string_view l) {
    if (!s.starts_with(l)) return false;
    s.remove_prefix(l.size());
    return true;
  }
  bool digits(size_t n, int& out) {
    if (s.size() < n) return false;
    int v = 0;
    for (size_t i = 0; i < n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      v = v * 10 + (s[i] - '0');
    }
    out = v;
    s.remove_prefix(n);
    return true;
  }
  template <size_t N>
  bool one_of(const std::array<std::string_view, N>& names, int& index) {
    for (size_t i = 0; i < N; ++i) {
      if (lit(names[i])) {
        index = static_cast<int>(i);
        return true;
      }
    }
    return false;
  }
  bool time_of_day(int& h, int& m, int& sec) {
    return digits(2, h) && lit(":") && digits(2, m) && lit(":") && digits(2, sec);
  }
};

std::optional<std::time_t> to_time(int64_t year, int month0, int day, int h, int m, int s) {
  if (month0 < 0 || month0 > 11 || day < 1 ||
      static_cast<unsigned>(day) > days_in_month(year, month0 + 1) || h > 23 || m > 59 || s > 60) {
    return std::nullopt;
  }
  int64_t days =
      days_from_civil(year, static_cast<unsigned>(month0 + 1), static_cast<unsigned>(day));
  return static_cast<std::time_t>(days * 86400 + h * 3600 + m * 60 + s);
}

struct EntityTag {
  bool weak = false;
  std::string_view opaque;  // including the quotes
};

// Parses one entity-tag at the front of `s`; consumes it.
std::optional<EntityTag> parse_etag(std::string_view& s) {
  EntityTag t;
  if (s.starts_with("W/")) {
    t.weak = true;
    s.remove_prefix(2);
  }
  if (s.empty() || s.front() != '"') return std::nullopt;
  size_t close = s.find('"', 1);
  if (close == std::string_view::npos) return std::nullopt;
  t.opaque = s.substr(0, close + 1);
  s.remove_prefix(close + 1);
  return t;
}

enum class Compare { kStrong, kWeak };

// True when the header value ("*" or a list of entity tags) matches `current`.
// A malformed list matches nothing.
bool etag_list_matches(std::string_view header, std::string_view current, Compare cmp) {
  header = trim(header);
  if (header == "*") return true;
  std::string_view cur_view = current;
  auto cur = parse_etag(cur_view);
  if (!cur || !trim(cur_view).empty()) return false;
  std::vector<EntityTag> tags;
  while (true) {
    while (!header.empty() &&
           (header.front() == ',' || header.front() == ' ' || header.front() == '\t')) {
      header.remove_prefix(1);
    }
    if (header.empty()) break;
    auto t = parse_etag(header);
    if (!t) return false;
    tags.push_back(*t);
    header = trim(header);
    if (!header.empty() && header.front() != ',') return false;
  }
  for (const auto& t : tags) {
    if (t.opaque != cur->opaque) continue;
    if (cmp == Compare::kWeak || (!t.weak && !cur->weak)) return true;
  }
  return false;
}

// Parses a run of digits, saturating at UINT64_MAX; false when empty or not all digits.
bool parse_u64(std::string_view s, uint64_t& out) {
  if (s.empty()) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    auto d = static_cast<uint64_t>(c - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) {
      v = std::numeric_limits<uint64_t>::max();
    } else {
      v = v * 10 + d;
    }
  }
  out = v;
  return true;
}

}  // namespace

std::string_view content_type_for(std::string_view filename) {
  if (size_t slash = filename.rfind('/'); slash != std::string_view::npos) {
    filename = filename.substr(slash + 1);
  }
  size_t dot = filename.rfind('.');
  if (dot != std::string_view::npos && dot > 0) {
    std::string_view ext = filename.substr(dot + 1);
    for (const auto& e : kByExtension) {
      if (iequals(ext, e.ext)) return e.type;
    }
  }
  for (const RegistryDescriptor* r : registries()) {
    const PathRules& p = r->paths;
    for (const auto& [ext, type] : p.types) {
      if (dot != std::string_view::npos && dot > 0 && iequals(filename.substr(dot + 1), ext)) {
        return type;
      }
    }
    for (std::string_view name : p.text_names) {
      if (filename == name) return kText;
    }
    for (std::string_view prefix : p.text_prefixes) {
      if (filename.starts_with(prefix) && dot == std::string_view::npos) return kText;
    }
  }
  return kOctet;
}

std::string make_etag(uint64_t size, int64_t mtime_sec) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "\"%" PRIx64 "-%" PRIx64 "\"", static_cast<uint64_t>(mtime_sec),
                size);
  return buf;
}

std::string make_file_etag(const struct stat& st) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "\"%" PRIx64 "-%" PRIx64 ".%" PRIx64 "-%" PRIx64 "\"",
                static_cast<uint64_t>(st.st_ino), static_cast<uint64_t>(st.st_mtim.tv_sec),
                static_cast<uint64_t>(st.st_mtim.tv_nsec), static_cast<uint64_t>(st.st_size));
  return buf;
}

std::string format_http_date(std::time_t t) {
  int64_t secs = static_cast<int64_t>(t);
  int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  int64_t rem = secs - days * 86400;
  // Civil date from days (inverse of days_from_civil).
  int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
  const int64_t wday = ((days % 7) + 7 + 4) % 7;  // 1970-01-01 was a Thursday
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02u %s %04" PRId64 " %02d:%02d:%02d GMT", kDays[wday].data(),
                d, kMonths[m - 1].data(), y, static_cast<int>(rem / 3600),
                static_cast<int>(rem / 60 % 60), static_cast<int>(rem % 60));
  return buf;
}

std::optional<std::time_t> parse_http_date(std::string_view text) {
  text = trim(text);
  int wday = 0, day = 0, month = 0, year = 0, h = 0, m = 0, s = 0;
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
  {
    Cursor c{text};
    if (c.one_of(kDays, wday) && c.lit(", ") && c.digits(2, day) && c.lit(" ") &&
        c.one_of(kMonths, month) && c.lit(" ") && c.digits(4, year) && c.lit(" ") &&
        c.time_of_day(h, m, s) && c.lit(" GMT") && c.s.empty()) {
      return to_time(year, month, day, h, m, s);
    }
  }
  // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"; two-digit years 70..99 are 19xx, else 20xx.
  {
    Cursor c{text};
    if (c.one_of(kLongDays, wday) && c.lit(", ") && c.digits(2, day) && c.lit("-") &&
        c.one_of(kMonths, month) && c.lit("-") && c.digits(2, year) && c.lit(" ") &&
        c.time_of_day(h, m, s) && c.lit(" GMT") && c.s.empty()) {
      return to_time(year < 70 ? 2000 + year : 1900 + year, month, day, h, m, s);
    }
  }
  // asctime: "Sun Nov  6 08:49:37 1994"
  {
    Cursor c{text};
    if (c.one_of(kDays, wday) && c.lit(" ") && c.one_of(kMonths, month) && c.lit(" ") &&
        (c.lit(" ") ? c.digits(1, day) : c.digits(2, day)) && c.lit(" ") &&
        c.time_of_day(h, m, s) && c.lit(" ") && c.digits(4, year) && c.s.empty()) {
      return to_time(year, month, day, h, m, s);
    }
  }
  return std::nullopt;
}

Precondition evaluate_preconditions(const ConditionalHeaders& h, const Validators& v,
                                    bool get_or_head) {
  // 1. If-Match (strong comparison); 2. If-Unmodified-Since only without If-Match.
  if (!trim(h.if_match).empty()) {
    if (!etag_list_matches(h.if_match, v.etag, Compare::kStrong)) return Precondition::kFailed;
  } else if (!trim(h.if_unmodified_since).empty() && v.last_modified != 0) {
    auto date = parse_http_date(h.if_unmodified_since);
    if (date && v.last_modified > *date) return Precondition::kFailed;
  }
  // 3. If-None-Match (weak comparison); 4. If-Modified-Since only without If-None-Match.
  if (!trim(h.if_none_match).empty()) {
    if (etag_list_matches(h.if_none_match, v.etag, Compare::kWeak)) {
      return get_or_head ? Precondition::kNotModified : Precondition::kFailed;
    }
  } else if (get_or_head && !trim(h.if_modified_since).empty() && v.last_modified != 0) {
    auto date = parse_http_date(h.if_modified_since);
    if (date && v.last_modified <= *date) return Precondition::kNotModified;
  }
  return Precondition::kProceed;
}

RangeDecision evaluate_range(std::string_view range, std::string_view if_range, uint64_t size,
                             const Validators& v) {
  RangeDecision none;
  range = trim(range);
  if (range.empty()) return none;
  if_range = trim(if_range);
  if (!if_range.empty()) {
    // Only a strong ETag equal to the current one keeps the Range; a date never does.
    std::string_view rest = if_range;
    auto tag = parse_etag(rest);
    if (!tag || !rest.empty() || tag->weak) return none;
    std::string_view cur_rest = v.etag;
    auto cur = parse_etag(cur_rest);
    if (!cur || cur->weak || cur->opaque != tag->opaque) return none;
  }
  size_t eq = range.find('=');
  if (eq == std::string_view::npos || !iequals(trim(range.substr(0, eq)), "bytes")) return none;
  std::string_view set = range.substr(eq + 1);
  std::string_view spec;
  int count = 0;
  while (!set.empty()) {
    size_t comma = set.find(',');
    std::string_view element = trim(set.substr(0, comma));
    set = comma == std::string_view::npos ? std::string_view() : set.substr(comma + 1);
    if (element.empty()) continue;  // empty list elements are allowed
    spec = element;
    if (++count > 1) return none;
  }
  if (count != 1) return none;
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return none;
  std::string_view first_text = spec.substr(0, dash);
  std::string_view last_text = spec.substr(dash + 1);

  RangeDecision unsatisfiable{RangeKind::kUnsatisfiable, {}};
  if (first_text.empty()) {  // suffix: "-n"
    uint64_t n = 0;
    if (!parse_u64(last_text, n)) return none;
    if (n == 0 || size == 0) return unsatisfiable;
    uint64_t first = n >= size ? 0 : size - n;
    return {RangeKind::kSatisfiable, {first, size - 1}};
  }
  uint64_t first = 0;
  if (!parse_u64(first_text, first)) return none;
  uint64_t last = std::numeric_limits<uint64_t>::max();
  if (!last_text.empty()) {
    if (!parse_u64(last_text, last)) return none;
    if (last < first) return none;
  }
  if (first >= size) return unsatisfiable;
  return {RangeKind::kSatisfiable, {first, last >= size ? size - 1 : last}};
}

std::string content_range(const ByteRange& r, uint64_t size) {
  char buf[80];
  std::snprintf(buf, sizeof buf, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, r.first, r.last, size);
  return buf;
}

std::optional<ByteRange> parse_content_range(std::string_view v, uint64_t& size) {
  if (!v.starts_with("bytes ")) return std::nullopt;
  v.remove_prefix(6);
  const size_t dash = v.find('-'), slash = v.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || slash < dash) {
    return std::nullopt;
  }
  auto f = parse_u64(v.substr(0, dash));
  auto l = parse_u64(v.substr(dash + 1, slash - dash - 1));
  auto t = parse_u64(v.substr(slash + 1));
  if (!f || !l || !t || *f > *l || *l >= *t) return std::nullopt;
  size = *t;
  return ByteRange{*f, *l};
}

std::optional<std::string> framing_error(const RequestFraming& r) {
  if (r.has_transfer_encoding) {
    std::string_view te = r.transfer_encoding;
    size_t comma = te.rfind(',');
    std::string_view last = comma == std::string_view::npos ? te : te.substr(comma + 1);
    size_t semi = last.find(';');
    if (semi != std::string_view::npos) last = last.substr(0, semi);
    if (!iequals(trim(last), "chunked")) {
      return "Transfer-Encoding does not end in chunked: the body cannot be delimited";
    }
    if (r.has_content_length) return "both Transfer-Encoding and Content-Length";
  }
  if (r.host_fields > 1) return "more than one Host header";
  if (r.version >= 11 && r.host_fields == 0) return "HTTP/1.1 request without a Host header";
  return std::nullopt;
}

}  // namespace depot

#include "site/schedule.h"

#include <algorithm>
#include <bit>
#include <limits>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include <date/tz.h>

#include "core/text.h"

namespace depot::site {
namespace {

using std::chrono::days;
using std::chrono::floor;
using std::chrono::minutes;
using std::chrono::seconds;
using std::chrono::sys_days;
using std::chrono::sys_time;
using std::chrono::year_month_day;

constexpr std::string_view kBlanks = " \t\r\n";
// Keeps after + interval far from the end of WallTime (about year 2262).
constexpr int64_t kMaxIntervalSeconds = int64_t{3650} * 86400;
// The last day whose every minute WallTime can hold.
constexpr sys_days kLastDay = floor<days>(WallTime::max()) - days{1};

enum Field { kMinute, kHour, kDayOfMonth, kMonth, kDayOfWeek };

constexpr std::array<std::string_view, 12> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                                          "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 7> kDayNames = {"sun", "mon", "tue", "wed",
                                                       "thu", "fri", "sat"};

struct FieldSpec {
  std::string_view name;
  int min;
  int max;
  std::span<const std::string_view> names;  // names[i] stands for min + i
};

constexpr std::array<FieldSpec, 5> kFields = {{{"minute", 0, 59, {}},
                                               {"hour", 0, 23, {}},
                                               {"day-of-month", 1, 31, {}},
                                               {"month", 1, 12, kMonthNames},
                                               {"day-of-week", 0, 7, kDayNames}}};

// Macro name and expansion.
constexpr std::array<std::pair<std::string_view, std::string_view>, 7> kMacros = {
    {{"@hourly", "0 * * * *"},
     {"@daily", "0 0 * * *"},
     {"@midnight", "0 0 * * *"},
     {"@weekly", "0 0 * * 0"},
     {"@monthly", "0 0 1 * *"},
     {"@yearly", "0 0 1 1 *"},
     {"@annually", "0 0 1 1 *"}}};

Error invalid(std::string_view what) {
  return make_error(ErrorCode::kInvalidArgument, std::string(what));
}

Error invalid_schedule(std::string_view text, std::string_view what) {
  return invalid("schedule '" + std::string(text) + "': " + std::string(what));
}

bool has(uint64_t mask, unsigned bit) { return bit < 64 && (mask >> bit & 1) != 0; }

// The lowest set bit of `mask` at or above `from`; -1 when there is none.
int next_bit(uint64_t mask, int from) {
  const uint64_t rest = from >= 64 ? 0 : mask >> from;
  return rest == 0 ? -1 : from + std::countr_zero(rest);
}

// `text` split at any run of `separators`; empty pieces dropped.
std::vector<std::string_view> split(std::string_view text, std::string_view separators) {
  std::vector<std::string_view> out;
  size_t pos = text.find_first_not_of(separators);
  while (pos != std::string_view::npos) {
    const size_t end = std::min(text.find_first_of(separators, pos), text.size());
    out.push_back(text.substr(pos, end - pos));
    pos = text.find_first_not_of(separators, end);
  }
  return out;
}

// "90s", "1h30m", "2w": one or more <number><unit> parts (lower-case units), 1m to 3650d in
// total.
Result<seconds> parse_interval(std::string_view text) {
  constexpr std::string_view kUnits = "smhdw";
  constexpr std::array<int64_t, 5> kUnitSeconds = {1, 60, 3600, 86400, 604800};
  if (text.front() == '-') return invalid_schedule(text, "an interval must be at least 1m");
  int64_t total = 0;
  for (std::string_view rest = text; !rest.empty();) {
    const size_t digits = rest.find_first_not_of("0123456789");
    if (digits == 0) {
      return invalid_schedule(text, "expected a number at '" + std::string(rest) + "'");
    }
    if (digits == std::string_view::npos) {
      return invalid_schedule(text, "'" + std::string(rest) + "' needs a unit: s, m, h, d or w");
    }
    const size_t unit = kUnits.find(rest[digits]);
    if (unit == std::string_view::npos) {
      return invalid_schedule(
          text, "unknown unit '" + std::string(1, rest[digits]) + "': use s, m, h, d or w");
    }
    const std::optional<uint64_t> n = parse_u64(rest.substr(0, digits));
    const auto limit = static_cast<uint64_t>(kMaxIntervalSeconds / kUnitSeconds[unit]);
    if (!n || *n > limit ||
        (total += static_cast<int64_t>(*n) * kUnitSeconds[unit]) > kMaxIntervalSeconds) {
      return invalid_schedule(text, "an interval must be at most 3650d");
    }
    rest.remove_prefix(digits + 1);
  }
  if (total < 60) return invalid_schedule(text, "an interval must be at least 1m");
  return seconds{total};
}

// One number or name of field `f`.
Result<int> parse_value(std::string_view s, const FieldSpec& f) {
  if (s.empty()) return invalid("missing value");
  for (size_t i = 0; i < f.names.size(); ++i) {
    if (iequals(s, f.names[i])) return f.min + static_cast<int>(i);
  }
  const std::optional<uint64_t> n = parse_u64(s);
  if (!n) {
    return invalid("'" + std::string(s) +
                   (f.names.empty() ? "' is not a number" : "' is not a number or name"));
  }
  if (*n < static_cast<uint64_t>(f.min) || *n > static_cast<uint64_t>(f.max)) {
    return invalid(std::string(s) + " is out of range " + std::to_string(f.min) + "-" +
                   std::to_string(f.max));
  }
  return static_cast<int>(*n);
}

// The values of one list item: "*", "a" or "a-b", each with an optional "/step"; "a/n" runs
// from a to the field's max.
Result<uint64_t> parse_item(std::string_view item, const FieldSpec& f) {
  const size_t slash = item.find('/');
  const std::string_view range = item.substr(0, slash);
  int step = 1;
  if (slash != std::string_view::npos) {
    const std::string_view text = item.substr(slash + 1);
    const std::optional<uint64_t> n = parse_u64(text);
    if (!n) return invalid("step '" + std::string(text) + "' is not a number");
    if (*n == 0 || *n > static_cast<uint64_t>(f.max)) {
      return invalid("step " + std::string(text) + " is out of range 1-" + std::to_string(f.max));
    }
    step = static_cast<int>(*n);
  }
  int lo = f.min;
  int hi = f.max;
  if (range != "*") {
    const size_t dash = range.find('-');
    DEPOT_ASSIGN_OR_RETURN(lo, parse_value(range.substr(0, dash), f));
    hi = slash == std::string_view::npos ? lo : f.max;
    if (dash != std::string_view::npos) {
      DEPOT_ASSIGN_OR_RETURN(hi, parse_value(range.substr(dash + 1), f));
      if (hi < lo) return invalid("range " + std::string(range) + " is reversed");
    }
  }
  uint64_t mask = 0;
  for (int v = lo; v <= hi; v += step) mask |= uint64_t{1} << v;
  return mask;
}

// A comma-separated list of items.
Result<uint64_t> parse_field(std::string_view text, const FieldSpec& f) {
  uint64_t mask = 0;
  for (size_t pos = 0; pos <= text.size();) {
    const size_t comma = std::min(text.find(',', pos), text.size());
    DEPOT_ASSIGN_OR_RETURN(const uint64_t values, parse_item(text.substr(pos, comma - pos), f));
    mask |= values;
    pos = comma + 1;
  }
  return mask;
}

// The first minute of a day at or after `from` (minutes since midnight) whose hour and minute
// are allowed; -1 when none is left.
int next_time_of_day(uint64_t hours, uint64_t minutes, int from) {
  for (int h = next_bit(hours, from / 60); h >= 0; h = next_bit(hours, h + 1)) {
    const int m = next_bit(minutes, h == from / 60 ? from % 60 : 0);
    if (m >= 0) return h * 60 + m;
  }
  return -1;
}

// Whether some allowed month has an allowed day of month (February has a 29th).
bool some_date_exists(uint64_t months, uint64_t days_of_month) {
  for (unsigned m = 1; m <= 12; ++m) {
    const auto last = std::chrono::year{2000} / std::chrono::month{m} / std::chrono::last;
    const unsigned last_day = static_cast<unsigned>(last.day());
    if (has(months, m) && (days_of_month & ((uint64_t{2} << last_day) - 1)) != 0) return true;
  }
  return false;
}

// The tz database's zone `name`; nullptr for UTC.
Result<const date::time_zone*> find_zone(std::string_view name) {
  if (name.empty() || name == "UTC" || name == "Etc/UTC") return nullptr;
  try {
    return date::locate_zone(name);
  } catch (const std::exception& e) {
    return invalid("time zone '" + std::string(name) + "': not in the system's tz database (" +
                   e.what() + "); use a name such as Europe/Berlin or UTC");
  }
}

}  // namespace

Status check_time_zone(std::string_view zone) {
  auto found = find_zone(zone);
  if (!found.ok()) return found.error();
  return {};
}

Result<Schedule> Schedule::parse(std::string_view raw, std::string_view zone) {
  const std::string_view text = trim(raw, kBlanks);
  if (text.empty()) return invalid_schedule(text, "empty: expected an interval or cron expression");
  Schedule s;
  s.text_ = std::string(text);
  DEPOT_ASSIGN_OR_RETURN(s.zone_, find_zone(zone));
  if (s.zone_ != nullptr) s.zone_name_ = std::string(zone);
  const bool interval = (text[0] >= '0' && text[0] <= '9') || text[0] == '-';
  if (interval && text.find_first_of(kBlanks) == std::string_view::npos) {
    DEPOT_ASSIGN_OR_RETURN(s.interval_, parse_interval(text));
    s.period_ = s.interval_;
    return s;
  }
  DEPOT_ASSIGN_OR_RETURN(s.cron_, parse_cron(text));
  s.interval_ = seconds::zero();  // marks it cron; the default schedule is an interval
  s.period_ = s.cron_period();
  return s;
}

Result<Schedule::Cron> Schedule::parse_cron(std::string_view text) {
  std::string_view expression = text;
  if (text[0] == '@') {
    auto macro = std::find_if(kMacros.begin(), kMacros.end(),
                              [&](const auto& m) { return iequals(m.first, text); });
    if (macro == kMacros.end()) {
      return invalid_schedule(text,
                              "unknown macro: use @hourly, @daily, @midnight, @weekly, "
                              "@monthly, @yearly or @annually");
    }
    expression = macro->second;
  }
  const std::vector<std::string_view> fields = split(expression, kBlanks);
  if (fields.size() != kFields.size()) {
    return invalid_schedule(text,
                            "a cron expression needs 5 fields (minute hour day-of-month "
                            "month day-of-week), found " +
                                std::to_string(fields.size()));
  }
  Cron cron;
  for (size_t i = 0; i < fields.size(); ++i) {
    Result<uint64_t> mask = parse_field(fields[i], kFields[i]);
    if (!mask.ok()) {
      return invalid_schedule(
          text, "cron field '" + std::string(kFields[i].name) + "': " + mask.error().message);
    }
    cron.mask[i] = *mask;
  }
  uint64_t& weekdays = cron.mask[kDayOfWeek];
  if (has(weekdays, 7)) weekdays = (weekdays & ~(uint64_t{1} << 7)) | 1;  // 7 is Sunday too
  cron.either_day = fields[kDayOfMonth][0] != '*' && fields[kDayOfWeek][0] != '*';
  // With either_day any allowed weekday will do; otherwise every real date recurs on every
  // weekday, so the expression fires iff some allowed month has an allowed day.
  if (!cron.either_day && !some_date_exists(cron.mask[kMonth], cron.mask[kDayOfMonth])) {
    return invalid_schedule(text, "never fires: no allowed month has an allowed day-of-month");
  }
  return cron;
}

WallTime Schedule::next_after(WallTime after) const {
  if (is_cron()) return next_cron(after);
  if (after > WallTime::max() - interval_) return WallTime::max();
  return after + interval_;
}

bool Schedule::day_matches(sys_days day) const {
  const bool dom = has(cron_.mask[kDayOfMonth], static_cast<unsigned>(year_month_day{day}.day()));
  const bool dow = has(cron_.mask[kDayOfWeek], std::chrono::weekday{day}.c_encoding());
  return cron_.either_day ? dom || dow : dom && dow;
}

// In a zone: the next wall-clock match whose instant lies after `after` (a repeated hour's
// times map to their first instant, which may not; skipped ones map to the change).
WallTime Schedule::next_cron(WallTime after) const {
  if (zone_ == nullptr) return next_wall(after);
  const auto local = zone_->to_local(floor<seconds>(after));
  WallTime wall{local.time_since_epoch()};
  while (true) {
    wall = next_wall(wall);
    if (wall == WallTime::max()) return wall;
    const date::local_time<minutes> at{floor<minutes>(wall).time_since_epoch()};
    const WallTime instant = zone_->to_sys(at, date::choose::earliest);
    if (instant > after) return instant;
  }
}

// Skips a whole month or day as soon as it cannot match.
WallTime Schedule::next_wall(WallTime after) const {
  const std::array<uint64_t, 5>& mask = cron_.mask;
  sys_time<minutes> t = floor<minutes>(after) + minutes{1};
  while (true) {
    const sys_days day = floor<days>(t);
    if (day > kLastDay) return WallTime::max();
    const year_month_day ymd{day};
    if (!has(mask[kMonth], static_cast<unsigned>(ymd.month()))) {
      t = sys_days{(ymd.year() / ymd.month() + std::chrono::months{1}) / 1};
      continue;
    }
    const int minute_of_day = static_cast<int>((t - day).count());
    const int at =
        day_matches(day) ? next_time_of_day(mask[kHour], mask[kMinute], minute_of_day) : -1;
    if (at >= 0) return day + minutes{at};
    t = day + days{1};
  }
}

// Every matching day fires at the same times, so the shortest gap is either between two times
// of one day or from the last time of a day to the first of the closest next matching day.
// Matching days are stepped over 28 years from 2000 (the weekday cycle of leap years).
seconds Schedule::cron_period() const {
  int64_t best = std::numeric_limits<int64_t>::max();
  const auto time_after = [&](int m) {
    return next_time_of_day(cron_.mask[kHour], cron_.mask[kMinute], m);
  };
  const int first = time_after(0);
  int last = first;
  for (int m = time_after(first + 1); m >= 0; m = time_after(m + 1)) {
    best = std::min<int64_t>(best, m - last);
    last = m;
  }
  const sys_days end = sys_days{std::chrono::year{2028} / 1 / 1};
  const auto next_day = [&](sys_days d) {
    return floor<days>(next_wall(d + days{1} - minutes{1}));
  };
  int64_t closest_days = std::numeric_limits<int64_t>::max();
  sys_days day = next_day(sys_days{std::chrono::year{2000} / 1 / 1} - days{1});
  do {
    const sys_days next = next_day(day);
    closest_days = std::min<int64_t>(closest_days, (next - day).count());
    day = next;
  } while (day < end && closest_days > 1);
  best = std::min<int64_t>(best, closest_days * 24 * 60 - last + first);
  return minutes{best};
}

}  // namespace depot::site

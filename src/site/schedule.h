#pragma once
// When a site job runs: a fixed interval ("30m", "1h30m") or a 5-field cron expression
// ("30 4 * * 1-5", "@daily") evaluated in UTC or an IANA time zone ("Europe/Berlin", from the
// system's tzdata). Across a daylight-saving change a cron time the clocks skip fires at the
// change, and a time they repeat fires once, at its first occurrence (as cron does).
// Immutable after parse: thread-safe.

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace date {
class time_zone;
}

namespace depot::site {

using WallTime = std::chrono::system_clock::time_point;

// OK when `zone` is "", "UTC" or a zone of the system's tz database; else kInvalidArgument
// naming it.
Status check_time_zone(std::string_view zone);

class Schedule {
 public:
  // Every hour ("1h"), until a parsed schedule is assigned.
  Schedule() = default;
  // Errors are kInvalidArgument and say what in `text` is wrong,
  // e.g. "cron field 'hour': 25 is out of range 0-23", or that `zone` is not a known time zone.
  // `zone` "" or "UTC": UTC; it only matters to cron expressions.
  static Result<Schedule> parse(std::string_view text, std::string_view zone = "");

  // First time strictly after `after` the schedule fires: after + interval for an interval;
  // the next matching minute (seconds 0) of the zone's wall clock for cron. WallTime::max()
  // when that is not representable.
  WallTime next_after(WallTime after) const;
  bool is_cron() const { return interval_ == std::chrono::seconds::zero(); }
  // The interval, or for cron the shortest gap between two consecutive firings.
  std::chrono::seconds period() const { return period_; }
  const std::string& text() const { return text_; }  // as given, trimmed
  const std::string& zone() const { return zone_name_; }  // "" for UTC

 private:
  // Bit v of mask[f] is set when value v is allowed in field f: minute, hour, day of month,
  // month, day of week (Sunday = 0).
  struct Cron {
    std::array<uint64_t, 5> mask{};
    bool either_day = false;  // neither day field starts with '*': a day matches if either does
  };

  static Result<Cron> parse_cron(std::string_view text);
  bool day_matches(std::chrono::sys_days day) const;
  WallTime next_cron(WallTime after) const;
  // The next matching minute after `after` read as a wall clock with no zone.
  WallTime next_wall(WallTime after) const;
  std::chrono::seconds cron_period() const;

  std::string text_ = "1h";
  std::chrono::seconds interval_{3600};  // zero for cron
  Cron cron_;
  std::chrono::seconds period_{3600};
  std::string zone_name_;
  const date::time_zone* zone_ = nullptr;  // nullptr: UTC; entries of the tz database live on
};

}  // namespace depot::site

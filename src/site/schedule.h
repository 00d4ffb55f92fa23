#pragma once
// When a site job runs: a fixed interval ("30m", "1h30m") or a 5-field cron expression
// ("30 4 * * 1-5", "@daily") evaluated in UTC. Immutable after parse: thread-safe.

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace depot::site {

using WallTime = std::chrono::system_clock::time_point;

class Schedule {
 public:
  // Every hour ("1h"), until a parsed schedule is assigned.
  Schedule() = default;
  // Errors are kInvalidArgument and say what in `text` is wrong,
  // e.g. "cron field 'hour': 25 is out of range 0-23".
  static Result<Schedule> parse(std::string_view text);

  // First time strictly after `after` the schedule fires: after + interval for an interval;
  // the next matching minute (seconds 0) for cron, in UTC. WallTime::max() when that is not
  // representable.
  WallTime next_after(WallTime after) const;
  bool is_cron() const { return interval_ == std::chrono::seconds::zero(); }
  // The interval, or for cron the shortest gap between two consecutive firings.
  std::chrono::seconds period() const { return period_; }
  const std::string& text() const { return text_; }  // as given, trimmed

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
  std::chrono::seconds cron_period() const;

  std::string text_ = "1h";
  std::chrono::seconds interval_{3600};  // zero for cron
  Cron cron_;
  std::chrono::seconds period_{3600};
};

}  // namespace depot::site

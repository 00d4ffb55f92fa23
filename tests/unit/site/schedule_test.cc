#include "site/schedule.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace depot::site {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;

// "2026-12-05 03:59" or "2026-12-05 03:59:30", UTC.
WallTime at(const std::string& text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  const int n = std::sscanf(text.c_str(), "%d-%d-%d %d:%d:%d", &y, &mo, &d, &h, &mi, &s);
  EXPECT_GE(n, 5) << text;
  const std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month(mo),
                                        std::chrono::day(d)};
  EXPECT_TRUE(ymd.ok()) << text;
  return std::chrono::sys_days{ymd} + std::chrono::hours{h} + std::chrono::minutes{mi} + seconds{s};
}

// The inverse of at(): seconds only when not zero.
std::string format(WallTime t) {
  const auto day = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd{day};
  const auto s = std::chrono::duration_cast<seconds>(t - day).count();
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02lld:%02lld", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<long long>(s / 3600), static_cast<long long>(s / 60 % 60));
  std::string out = buf;
  if (s % 60 != 0) out += ":" + std::string(s % 60 < 10 ? "0" : "") + std::to_string(s % 60);
  return out;
}

Schedule parsed(const std::string& text) {
  Result<Schedule> s = Schedule::parse(text);
  EXPECT_TRUE(s.ok()) << text << ": " << s.error().message;
  return s.ok() ? *s : *Schedule::parse("1h");
}

// The first `count` firings of `text` strictly after `from`.
std::vector<std::string> firings(const std::string& text, const std::string& from, int count) {
  const Schedule s = parsed(text);
  std::vector<std::string> out;
  WallTime t = at(from);
  for (int i = 0; i < count; ++i) out.push_back(format(t = s.next_after(t)));
  return out;
}

std::string next(const std::string& text, const std::string& from) {
  return firings(text, from, 1).front();
}

std::string error_of(const std::string& text) {
  Result<Schedule> s = Schedule::parse(text);
  EXPECT_FALSE(s.ok()) << text << " parsed";
  if (s.ok()) return "";
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument) << text;
  return s.error().message;
}

TEST(Schedule, IntervalForms) {
  const std::vector<std::pair<std::string, int64_t>> cases = {
      {"90s", 90},     {"30m", 1800},   {"6h", 21600},  {"1d", 86400},
      {"1h30m", 5400}, {"2w", 1209600}, {"1m", 60},     {"1d12h", 129600},
      {" 15m\n", 900}, {"1h0m", 3600},  {"59s1m", 119}, {"3650d", 315360000},
  };
  for (const auto& [text, secs] : cases) {
    const Schedule s = parsed(text);
    EXPECT_FALSE(s.is_cron()) << text;
    EXPECT_EQ(s.period(), seconds{secs}) << text;
  }
  EXPECT_EQ(parsed("  1h30m\t").text(), "1h30m");
}

TEST(Schedule, DefaultIsEveryHourAndParsingCronReplacesIt) {
  const Schedule hourly;
  EXPECT_FALSE(hourly.is_cron());
  EXPECT_EQ(hourly.text(), "1h");
  EXPECT_EQ(hourly.period(), seconds{3600});
  EXPECT_EQ(format(hourly.next_after(at("2026-03-01 10:20"))), "2026-03-01 11:20");
  const Schedule cron = parsed("*/15 * * * *");
  EXPECT_TRUE(cron.is_cron());
  EXPECT_EQ(format(cron.next_after(at("2026-03-01 10:20"))), "2026-03-01 10:30");
}

TEST(Schedule, IntervalNextAfterAddsTheIntervalExactly) {
  EXPECT_EQ(format(parsed("90s").next_after(at("2026-12-31 23:59:17"))), "2027-01-01 00:00:47");
  EXPECT_EQ(format(parsed("1h30m").next_after(at("2026-03-01 10:00"))), "2026-03-01 11:30");
  EXPECT_EQ(format(parsed("2w").next_after(at("2028-02-20 08:00"))), "2028-03-05 08:00");
  EXPECT_EQ(parsed("1d").next_after(WallTime::max() - std::chrono::hours{1}), WallTime::max());
}

TEST(Schedule, IntervalErrors) {
  EXPECT_EQ(error_of("5"), "schedule '5': '5' needs a unit: s, m, h, d or w");
  EXPECT_EQ(error_of("1h30"), "schedule '1h30': '30' needs a unit: s, m, h, d or w");
  EXPECT_EQ(error_of("59s"), "schedule '59s': an interval must be at least 1m");
  EXPECT_EQ(error_of("0m"), "schedule '0m': an interval must be at least 1m");
  EXPECT_EQ(error_of("-5m"), "schedule '-5m': an interval must be at least 1m");
  EXPECT_EQ(error_of("5x"), "schedule '5x': unknown unit 'x': use s, m, h, d or w");
  EXPECT_EQ(error_of("1M"), "schedule '1M': unknown unit 'M': use s, m, h, d or w");
  EXPECT_EQ(error_of("1hm"), "schedule '1hm': expected a number at 'm'");
  EXPECT_EQ(error_of("3651d"), "schedule '3651d': an interval must be at most 3650d");
  EXPECT_EQ(error_of("99999999999999999999999s"),
            "schedule '99999999999999999999999s': an interval must be at most 3650d");
  EXPECT_EQ(error_of("1537228672809129301w"),  // * 604800 wraps a 64-bit integer
            "schedule '1537228672809129301w': an interval must be at most 3650d");
  EXPECT_THAT(error_of(""), HasSubstr("empty"));
}

TEST(Schedule, EveryFifteenMinutesCrossesTheHourAndTheYear) {
  EXPECT_EQ(next("*/15 * * * *", "2026-12-05 03:59"), "2026-12-05 04:00");
  EXPECT_EQ(firings("*/15 * * * *", "2026-12-31 23:31", 3),
            (std::vector<std::string>{"2026-12-31 23:45", "2027-01-01 00:00", "2027-01-01 00:15"}));
}

TEST(Schedule, StrictlyAfter) {
  EXPECT_EQ(next("*/15 * * * *", "2026-12-05 04:00"), "2026-12-05 04:15");
  EXPECT_EQ(next("*/15 * * * *", "2026-12-05 04:00:01"), "2026-12-05 04:15");
  EXPECT_EQ(next("*/15 * * * *", "2026-12-05 03:59:59"), "2026-12-05 04:00");
  EXPECT_EQ(next("* * * * *", "2026-12-05 03:59:30"), "2026-12-05 04:00");
  EXPECT_EQ(next("0 3 * * *", "2026-12-05 03:00"), "2026-12-06 03:00");
  const WallTime nanos_before = at("2026-12-05 04:00") - std::chrono::nanoseconds{1};
  EXPECT_EQ(format(parsed("*/15 * * * *").next_after(nanos_before)), "2026-12-05 04:00");
}

TEST(Schedule, WeekdaysSkipTheWeekend) {
  // 2026-03-06 is a Friday.
  EXPECT_EQ(next("30 4 * * 1-5", "2026-03-06 04:29"), "2026-03-06 04:30");
  EXPECT_EQ(next("30 4 * * 1-5", "2026-03-06 04:30"), "2026-03-09 04:30");
  EXPECT_EQ(next("30 4 * * 1-5", "2026-03-07 12:00"), "2026-03-09 04:30");
  EXPECT_EQ(next("30 4 * * mon-fri", "2026-03-08 23:59"), "2026-03-09 04:30");
}

TEST(Schedule, DayOfMonthOrDayOfWeekWhenBothAreRestricted) {
  // April 2026: Fridays 3, 10, 17, 24; the 13th is a Monday.
  EXPECT_EQ(firings("0 0 13 * fri", "2026-04-01 00:00", 5),
            (std::vector<std::string>{"2026-04-03 00:00", "2026-04-10 00:00", "2026-04-13 00:00",
                                      "2026-04-17 00:00", "2026-04-24 00:00"}));
  // A day field starting with '*' is not a restriction: both must match (Fridays among 1, 14, 27).
  EXPECT_EQ(firings("0 0 */13 * fri", "2026-01-01 00:00", 3),
            (std::vector<std::string>{"2026-02-27 00:00", "2026-03-27 00:00", "2026-05-01 00:00"}));
  EXPECT_EQ(next("0 0 13 * *", "2026-04-01 00:00"), "2026-04-13 00:00");
  EXPECT_EQ(next("0 0 * * fri", "2026-04-01 00:00"), "2026-04-03 00:00");
}

TEST(Schedule, LeapDays) {
  EXPECT_EQ(next("0 0 29 2 *", "2026-01-01 00:00"), "2028-02-29 00:00");
  EXPECT_EQ(next("0 0 29 2 *", "2028-02-29 00:00"), "2032-02-29 00:00");
  EXPECT_EQ(next("0 0 29 2 *", "2096-03-01 00:00"), "2104-02-29 00:00");  // 2100 is no leap year
  EXPECT_EQ(next("0 0 29 * *", "2027-01-29 00:00"), "2027-03-29 00:00");
  EXPECT_EQ(next("0 0 29 * *", "2028-01-29 00:00"), "2028-02-29 00:00");
  EXPECT_EQ(next("0 12 * 2 *", "2027-02-28 12:00"), "2028-02-01 12:00");
  EXPECT_EQ(next("0 12 * 2 *", "2028-02-28 12:00"), "2028-02-29 12:00");
  // Feb 29 on a Saturday or Sunday: 2032, then 2048.
  EXPECT_EQ(next("0 0 29 2 */6", "2021-01-01 00:00"), "2032-02-29 00:00");
  EXPECT_EQ(next("0 0 29 2 */6", "2032-02-29 00:00"), "2048-02-29 00:00");
}

TEST(Schedule, MonthAndYearEnds) {
  EXPECT_EQ(next("@monthly", "2026-12-15 10:00"), "2027-01-01 00:00");
  EXPECT_EQ(next("0 0 31 * *", "2026-04-01 00:00"), "2026-05-31 00:00");
  EXPECT_EQ(next("59 23 31 12 *", "2026-12-31 23:59"), "2027-12-31 23:59");
  EXPECT_EQ(next("0 0 1 1 *", "2026-12-31 23:59"), "2027-01-01 00:00");
  EXPECT_EQ(next("@yearly", "2026-01-01 00:00"), "2027-01-01 00:00");
  EXPECT_EQ(next("0 0 30 * *", "2027-01-30 00:00"), "2027-03-30 00:00");
}

TEST(Schedule, StepsRangesAndLists) {
  EXPECT_EQ(firings("*/7 * * * *", "2026-05-01 10:48", 4),
            (std::vector<std::string>{"2026-05-01 10:49", "2026-05-01 10:56", "2026-05-01 11:00",
                                      "2026-05-01 11:07"}));
  EXPECT_EQ(firings("10-30/10 9-17/4 * * *", "2026-05-01 09:30", 4),
            (std::vector<std::string>{"2026-05-01 13:10", "2026-05-01 13:20", "2026-05-01 13:30",
                                      "2026-05-01 17:10"}));
  EXPECT_EQ(next("10-30/10 9-17/4 * * *", "2026-05-01 17:30"), "2026-05-02 09:10");
  EXPECT_EQ(firings("5/20 * * * *", "2026-05-01 10:00", 4),
            (std::vector<std::string>{"2026-05-01 10:05", "2026-05-01 10:25", "2026-05-01 10:45",
                                      "2026-05-01 11:05"}));
  EXPECT_EQ(firings("0,30 1,2-3 * * *", "2026-05-01 00:00", 4),
            (std::vector<std::string>{"2026-05-01 01:00", "2026-05-01 01:30", "2026-05-01 02:00",
                                      "2026-05-01 02:30"}));
  EXPECT_EQ(next("0 0 1 */5 *", "2026-01-02 00:00"), "2026-06-01 00:00");  // months 1, 6, 11
  EXPECT_EQ(next("0 0 1 */5 *", "2026-11-02 00:00"), "2027-01-01 00:00");
}

TEST(Schedule, NamesAreCaseInsensitive) {
  EXPECT_EQ(next("0 12 * JAN,jul Mon", "2026-01-27 00:00"), "2026-07-06 12:00");
  EXPECT_EQ(next("0 12 1 Dec *", "2026-01-01 00:00"), "2026-12-01 12:00");
  EXPECT_EQ(next("0 0 * * SUN,sat", "2026-03-02 00:00"), "2026-03-07 00:00");
  EXPECT_EQ(next("@DAILY", "2026-03-02 00:00"), "2026-03-03 00:00");
}

TEST(Schedule, SevenIsSunday) {
  EXPECT_EQ(next("0 0 * * 7", "2026-03-02 00:00"), "2026-03-08 00:00");
  EXPECT_EQ(next("0 0 * * 0", "2026-03-02 00:00"), "2026-03-08 00:00");
  EXPECT_EQ(firings("0 0 * * 5-7", "2026-03-05 00:00", 4),
            (std::vector<std::string>{"2026-03-06 00:00", "2026-03-07 00:00", "2026-03-08 00:00",
                                      "2026-03-13 00:00"}));
  EXPECT_EQ(next("@weekly", "2026-03-08 00:00"), "2026-03-15 00:00");
}

// The first `count` firings of `text` in `zone` strictly after `from` (UTC), in UTC.
std::vector<std::string> zoned(const std::string& text, const std::string& zone,
                               const std::string& from, int count) {
  Result<Schedule> s = Schedule::parse(text, zone);
  EXPECT_TRUE(s.ok()) << text << " in " << zone << ": " << s.error().message;
  std::vector<std::string> out;
  WallTime t = at(from);
  for (int i = 0; s.ok() && i < count; ++i) out.push_back(format(t = s->next_after(t)));
  return out;
}

TEST(Schedule, CronInAZoneFollowsItsWallClock) {
  // Kolkata is UTC+5:30 all year: 03:00 there is 21:30 UTC the day before.
  EXPECT_EQ(zoned("0 3 * * *", "Asia/Kolkata", "2026-12-05 00:00", 2),
            (std::vector<std::string>{"2026-12-05 21:30", "2026-12-06 21:30"}));
  // Berlin: UTC+1 in winter, UTC+2 in summer.
  EXPECT_EQ(zoned("0 4 * * 1", "Europe/Berlin", "2026-12-05 00:00", 1),
            (std::vector<std::string>{"2026-12-07 03:00"}));
  EXPECT_EQ(zoned("0 4 * * 1", "Europe/Berlin", "2026-07-01 00:00", 1),
            (std::vector<std::string>{"2026-07-06 02:00"}));
  // "UTC" and "" are UTC; intervals ignore the zone.
  EXPECT_EQ(zoned("0 3 * * *", "UTC", "2026-12-05 00:00", 1),
            (std::vector<std::string>{"2026-12-05 03:00"}));
  EXPECT_EQ(zoned("90m", "Asia/Kolkata", "2026-12-05 00:00", 1),
            (std::vector<std::string>{"2026-12-05 01:30"}));
}

TEST(Schedule, ATimeTheClocksSkipFiresAtTheChangeAndARepeatedOneOnce) {
  // 2026-03-29 02:00 CET becomes 03:00 CEST (01:00 UTC): 02:30 never happens that night.
  EXPECT_EQ(zoned("30 2 * * *", "Europe/Berlin", "2026-03-28 12:00", 3),
            (std::vector<std::string>{"2026-03-29 01:00", "2026-03-30 00:30",
                                      "2026-03-31 00:30"}));
  // 2026-10-25 03:00 CEST becomes 02:00 CET (01:00 UTC): 02:30 happens twice, fires once.
  EXPECT_EQ(zoned("30 2 * * *", "Europe/Berlin", "2026-10-24 12:00", 3),
            (std::vector<std::string>{"2026-10-25 00:30", "2026-10-26 01:30",
                                      "2026-10-27 01:30"}));
  // Asked from inside the repeated hour (its second 02:10, 01:10 UTC): the next day's.
  EXPECT_EQ(zoned("30 2 * * *", "Europe/Berlin", "2026-10-25 01:10", 1),
            (std::vector<std::string>{"2026-10-26 01:30"}));
}

TEST(Schedule, AnUnknownZoneIsNamed) {
  Result<Schedule> s = Schedule::parse("0 3 * * *", "Mars/Olympus_Mons");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(s.error().message, HasSubstr("time zone 'Mars/Olympus_Mons'"));
  EXPECT_TRUE(check_time_zone("").ok());
  EXPECT_TRUE(check_time_zone("UTC").ok());
  EXPECT_TRUE(check_time_zone("America/New_York").ok());
  EXPECT_FALSE(check_time_zone("../../etc/passwd").ok());
}

TEST(Schedule, Macros) {
  EXPECT_EQ(next("@hourly", "2026-03-02 10:00"), "2026-03-02 11:00");
  EXPECT_EQ(next("@midnight", "2026-03-02 10:00"), "2026-03-03 00:00");
  EXPECT_EQ(next("@annually", "2026-03-02 10:00"), "2027-01-01 00:00");
  EXPECT_TRUE(parsed("@hourly").is_cron());
  EXPECT_EQ(parsed("@hourly").text(), "@hourly");
}

TEST(Schedule, CronErrorsNameTheField) {
  EXPECT_EQ(error_of("0 25 * * *"),
            "schedule '0 25 * * *': cron field 'hour': 25 is out of range 0-23");
  EXPECT_EQ(error_of("0 0 * *"),
            "schedule '0 0 * *': a cron expression needs 5 fields (minute hour day-of-month "
            "month day-of-week), found 4");
  EXPECT_THAT(error_of("0 0 * * * *"), HasSubstr("found 6"));
  EXPECT_THAT(error_of("* * *"), HasSubstr("found 3"));
  EXPECT_THAT(error_of("60 * * * *"), HasSubstr("field 'minute': 60 is out of range 0-59"));
  EXPECT_THAT(error_of("* * 0 * *"), HasSubstr("field 'day-of-month': 0 is out of range 1-31"));
  EXPECT_THAT(error_of("* * * 13 *"), HasSubstr("field 'month': 13 is out of range 1-12"));
  EXPECT_THAT(error_of("* * * * 8"), HasSubstr("field 'day-of-week': 8 is out of range 0-7"));
  EXPECT_THAT(error_of("* 5-1 * * *"), HasSubstr("field 'hour': range 5-1 is reversed"));
  EXPECT_THAT(error_of("* * * * fri-mon"), HasSubstr("field 'day-of-week': range fri-mon"));
  EXPECT_THAT(error_of("*/0 * * * *"), HasSubstr("field 'minute': step 0 is out of range 1-59"));
  EXPECT_THAT(error_of("* */x * * *"), HasSubstr("field 'hour': step 'x' is not a number"));
  EXPECT_THAT(error_of("* * * foo *"), HasSubstr("field 'month': 'foo' is not a number or name"));
  EXPECT_THAT(error_of("* * * * monday"), HasSubstr("field 'day-of-week': 'monday'"));
  EXPECT_THAT(error_of("1,,2 * * * *"), HasSubstr("field 'minute': missing value"));
  EXPECT_THAT(error_of("1, * * * *"), HasSubstr("field 'minute': missing value"));
  EXPECT_THAT(error_of("-1 * * * *"), HasSubstr("field 'minute': missing value"));
  EXPECT_THAT(error_of("* jan * * *"), HasSubstr("field 'hour': 'jan' is not a number"));
  EXPECT_THAT(error_of("1-2-3 * * * *"), HasSubstr("field 'minute': '2-3' is not a number"));
  EXPECT_THAT(error_of("@reboot"), HasSubstr("unknown macro"));
  EXPECT_THAT(error_of("abc"), HasSubstr("found 1"));
}

TEST(Schedule, ExpressionsThatNeverFireAreRejected) {
  EXPECT_EQ(error_of("0 0 30 2 *"),
            "schedule '0 0 30 2 *': never fires: no allowed month has an allowed day-of-month");
  EXPECT_THAT(error_of("0 0 31 4,6,9,11 *"), HasSubstr("never fires"));
  EXPECT_THAT(error_of("0 0 30-31 feb */2"), HasSubstr("never fires"));
  // Either day field may match when both are restricted: Mondays in February.
  EXPECT_EQ(next("0 0 30 2 mon", "2026-01-01 00:00"), "2026-02-02 00:00");
  EXPECT_TRUE(Schedule::parse("0 0 31 4,5 *").ok());
}

TEST(Schedule, Period) {
  EXPECT_EQ(parsed("*/15 * * * *").period(), seconds{900});
  EXPECT_EQ(parsed("0 3 * * *").period(), seconds{86400});
  EXPECT_EQ(parsed("6h").period(), seconds{21600});
  EXPECT_EQ(parsed("* * * * *").period(), seconds{60});
  EXPECT_EQ(parsed("*/7 * * * *").period(), seconds{4 * 60});  // 56 -> 0
  EXPECT_EQ(parsed("0 0,23 * * *").period(), seconds{3600});   // 23:00 -> 00:00
  EXPECT_EQ(parsed("30 4 * * 1-5").period(), seconds{86400});
  EXPECT_EQ(parsed("@weekly").period(), seconds{7 * 86400});
  EXPECT_EQ(parsed("@monthly").period(), seconds{28 * 86400});
  EXPECT_EQ(parsed("0 0 29 2 *").period(), seconds{1461 * 86400});
  EXPECT_EQ(parsed("0 0 1,29 2,3 *").period(), seconds{86400});  // Feb 29 -> Mar 1
  EXPECT_EQ(parsed("0 0 13 * fri").period(), seconds{86400});    // Thursday 13th -> Friday
}

struct Fields {
  int month, day, weekday, hour, minute;  // weekday 0 = Sunday
};

Fields fields_of(WallTime t) {
  const auto day = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd{day};
  const auto m = std::chrono::floor<std::chrono::minutes>(t - day).count();
  return {static_cast<int>(static_cast<unsigned>(ymd.month())),
          static_cast<int>(static_cast<unsigned>(ymd.day())),
          static_cast<int>(std::chrono::weekday{day}.c_encoding()), static_cast<int>(m / 60),
          static_cast<int>(m % 60)};
}

// next_after agrees with a minute-by-minute search against the expression written out by hand,
// from 300 start times spread over 2027-12-20 to 2028-04-24 (a year end and a leap February).
TEST(Schedule, AgreesWithAMinuteByMinuteSearch) {
  const std::vector<std::pair<std::string, std::function<bool(const Fields&)>>> cases = {
      {"*/15 * * * *", [](const Fields& f) { return f.minute % 15 == 0; }},
      {"30 4 * * 1-5",
       [](const Fields& f) {
         return f.hour == 4 && f.minute == 30 && f.weekday >= 1 && f.weekday <= 5;
       }},
      {"0 0 13 * fri",
       [](const Fields& f) {
         return f.hour == 0 && f.minute == 0 && (f.day == 13 || f.weekday == 5);
       }},
      {"5/20 */6 * * *", [](const Fields& f) { return f.minute % 20 == 5 && f.hour % 6 == 0; }},
      {"0 12 */2 * 7",
       [](const Fields& f) {
         return f.hour == 12 && f.minute == 0 && f.day % 2 == 1 && f.weekday == 0;
       }},
      {"59 23 28-31 * *",
       [](const Fields& f) { return f.hour == 23 && f.minute == 59 && f.day >= 28; }},
      {"0,30 8-17 1,15 feb-apr,dec mon-fri",
       [](const Fields& f) {
         return f.minute % 30 == 0 && f.hour >= 8 && f.hour <= 17 &&
                (f.month == 12 || (f.month >= 2 && f.month <= 4)) &&
                (f.day == 1 || f.day == 15 || (f.weekday >= 1 && f.weekday <= 5));
       }},
  };
  for (const auto& [text, matches] : cases) {
    const Schedule s = parsed(text);
    for (int i = 0; i < 300; ++i) {
      const WallTime from =
          at("2027-12-20 00:00") + std::chrono::minutes{601 * i} + seconds{i % 60};
      auto t = std::chrono::floor<std::chrono::minutes>(from) + std::chrono::minutes{1};
      for (int n = 0; n < 120 * 24 * 60 && !matches(fields_of(t)); ++n)
        t += std::chrono::minutes{1};
      ASSERT_EQ(format(s.next_after(from)), format(t)) << text << " after " << format(from);
    }
  }
}

}  // namespace
}  // namespace depot::site

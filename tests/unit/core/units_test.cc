#include "core/units.h"

#include <gtest/gtest.h>

namespace depot {
namespace {

TEST(Units, FormatBytes) {
  EXPECT_EQ(format_bytes(0), "0 B");
  EXPECT_EQ(format_bytes(1023), "1023 B");
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(format_bytes(50ull << 20), "50.0 MiB");
}

TEST(Units, ParseBytes) {
  EXPECT_EQ(parse_bytes("100"), 100u);
  EXPECT_EQ(parse_bytes("64K"), 65536u);
  EXPECT_EQ(parse_bytes("1.5GiB"), 1610612736u);
  EXPECT_EQ(parse_bytes("200G"), 200ull << 30);
  EXPECT_EQ(parse_bytes("2mb"), 2u << 20);
  EXPECT_FALSE(parse_bytes("").has_value());
  EXPECT_FALSE(parse_bytes("G").has_value());
  EXPECT_FALSE(parse_bytes("5X").has_value());
  EXPECT_FALSE(parse_bytes("18446744073709551616").has_value());  // 2^64
  EXPECT_FALSE(parse_bytes("99999999999999999999T").has_value());
  EXPECT_FALSE(parse_bytes("1" + std::string(400, '0')).has_value());  // beyond double
  EXPECT_EQ(parse_bytes("16383P").has_value(), false);  // no P suffix
  EXPECT_EQ(parse_bytes("16777215T"), 16777215ull << 40);
}

TEST(Units, FormatDuration) {
  EXPECT_EQ(format_duration(std::chrono::duration<double>(3.21)), "3.2s");
  EXPECT_EQ(format_duration(std::chrono::duration<double>(65)), "1m05s");
  EXPECT_EQ(format_duration(std::chrono::duration<double>(3720)), "1h02m");
}

TEST(Units, ParsesDurations) {
  using std::chrono::seconds;
  EXPECT_EQ(parse_duration("90s"), seconds(90));
  EXPECT_EQ(parse_duration("30m"), seconds(1800));
  EXPECT_EQ(parse_duration("1h30m"), seconds(5400));
  EXPECT_EQ(parse_duration("1d"), seconds(86400));
  EXPECT_EQ(parse_duration("2w"), seconds(14 * 86400));
  EXPECT_EQ(parse_duration("600"), seconds(600));
  EXPECT_EQ(parse_duration(""), std::nullopt);
  EXPECT_EQ(parse_duration("1h30"), std::nullopt);
  EXPECT_EQ(parse_duration("5x"), std::nullopt);
  EXPECT_EQ(parse_duration("h"), std::nullopt);
  EXPECT_EQ(parse_duration("-5m"), std::nullopt);
  EXPECT_EQ(parse_duration("99999999999999999999s"), std::nullopt);
}

}  // namespace
}  // namespace depot

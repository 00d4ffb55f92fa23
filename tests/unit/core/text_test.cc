#include "core/text.h"

#include <gtest/gtest.h>

namespace depot {
namespace {

TEST(Text, TrimRemovesOnlyTheGivenCharactersAtTheEnds) {
  EXPECT_EQ(trim("  a b\t"), "a b");
  EXPECT_EQ(trim(" \t "), "");
  EXPECT_EQ(trim(""), "");
  EXPECT_EQ(trim("x"), "x");
  EXPECT_EQ(trim("\r\n a \n", " \t\r\n"), "a");
  EXPECT_EQ(trim("\na\n"), "\na\n");  // newlines are not blanks by default
}

TEST(Text, IequalsComparesAsciiWithoutCase) {
  EXPECT_TRUE(iequals("SHA256", "sha256"));
  EXPECT_TRUE(iequals("Source", "source"));
  EXPECT_FALSE(iequals("Source", "Sources"));
}

TEST(Text, HexDigitValue) {
  EXPECT_EQ(hex_digit_value('0'), 0);
  EXPECT_EQ(hex_digit_value('9'), 9);
  EXPECT_EQ(hex_digit_value('a'), 10);
  EXPECT_EQ(hex_digit_value('F'), 15);
  for (char c : {'g', 'G', '/', ':', '@', '`', ' ', '\0', '\xff'}) {
    EXPECT_EQ(hex_digit_value(c), -1) << static_cast<int>(c);
  }
}

}  // namespace
}  // namespace depot

#include "serve/auth_file.h"

#include <gtest/gtest.h>

#include <fstream>

#include "core/digest.h"
#include "support/temp_dir.h"

namespace depot {
namespace {

std::string line(std::string_view name, std::string_view token, std::string_view role) {
  return std::string(name) + ":" + sha256_hex(token) + ":" + std::string(role) + "\n";
}

TEST(AuthFile, ParsesRolesCommentsAndBlankLines) {
  std::string text = "# node tokens\n\n" + line("reader", "r-token", "read") +
                     "  " + line("appender", "a-token", "append") +
                     line("gateway", "g-token", "full") + "   \n";
  auto t = AuthTable::parse(text, "auth.txt");
  ASSERT_TRUE(t.ok()) << t.error().to_string();
  EXPECT_EQ(t->size(), 3u);
  auto r = t->find("r-token");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->name, "reader");
  EXPECT_EQ(r->role, Role::kRead);
  EXPECT_EQ(t->find("a-token")->role, Role::kAppend);
  EXPECT_EQ(t->find("g-token")->role, Role::kFull);
  EXPECT_FALSE(t->find("unknown"));
  EXPECT_FALSE(t->find(""));
  EXPECT_FALSE(t->find(sha256_hex("g-token")));  // the digest is not the token
}

TEST(AuthFile, UpperCaseDigestAndCrlfAccepted) {
  std::string hex = sha256_hex("tok");
  for (char& c : hex) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto t = AuthTable::parse("gw:" + hex + ":full\r\n", "f");
  ASSERT_TRUE(t.ok()) << t.error().to_string();
  EXPECT_EQ(t->find("tok")->role, Role::kFull);
}

TEST(AuthFile, BadLinesNameFileAndLine) {
  const std::string good = line("a", "x", "read");
  struct Case {
    std::string text;
    std::string expect;
  } cases[] = {
      {good + "b:" + sha256_hex("y") + "\n", "f:2: expected NAME:SHA256HEX:ROLE"},
      {good + "b:" + sha256_hex("y") + ":write\n", "f:2: role must be"},
      {"b:abcd:read\n", "f:1: not a sha256"},
      {"b:" + std::string(64, 'g') + ":read\n", "f:1: not a sha256"},
      {"b c:" + sha256_hex("y") + ":read\n", "f:1: bad name"},
      {":" + sha256_hex("y") + ":read\n", "f:1: bad name"},
      {good + line("a", "z", "full"), "f:2: a listed twice"},
      {good + line("b", "x", "full"), "f:2: the same token digest listed twice"},
      {"b:" + sha256_hex("y") + ":read:extra\n", "f:1: expected"},
  };
  for (const auto& c : cases) {
    auto t = AuthTable::parse(c.text, "f");
    ASSERT_FALSE(t.ok()) << c.text;
    EXPECT_EQ(t.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(t.error().message.find(c.expect), std::string::npos) << t.error().message;
  }
}

TEST(AuthFile, LoadReadsFileAndNamesIt) {
  testing::TempDir dir;
  auto path = dir.path() / "auth";
  std::ofstream(path) << line("gw", "secret", "full") << "oops\n";
  auto t = AuthTable::load(path);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find(path.string() + ":2:"), std::string::npos)
      << t.error().message;
  auto missing = AuthTable::load(dir.path() / "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("nope"), std::string::npos);
}

TEST(AuthFile, RolesAreOrdered) {
  EXPECT_LT(Role::kNone, Role::kRead);
  EXPECT_LT(Role::kRead, Role::kAppend);
  EXPECT_LT(Role::kAppend, Role::kFull);
  EXPECT_STREQ(role_name(Role::kAppend), "append");
}

TEST(AuthFile, BearerToken) {
  EXPECT_EQ(bearer_token("Bearer abc"), "abc");
  EXPECT_EQ(bearer_token("bearer   abc  "), "abc");
  EXPECT_EQ(bearer_token("BEARER\tabc"), "abc");
  EXPECT_FALSE(bearer_token(""));
  EXPECT_FALSE(bearer_token("Bearer"));
  EXPECT_FALSE(bearer_token("Bearer "));
  EXPECT_FALSE(bearer_token("Basic abc"));
  EXPECT_FALSE(bearer_token("Bearerabc"));
  EXPECT_FALSE(bearer_token("Bearer a b"));
}

}  // namespace
}  // namespace depot

#include <gtest/gtest.h>

#include <map>

#include "sources/crates/cache_rules.h"

namespace depot {
namespace {

using crates::crate_origin;
using crates::rewrite_config;

TEST(CratesCacheRules, ConfigPointsAtTheCacheWithoutApi) {
  auto got = rewrite_config("config.json",
                            R"({"dl":"https://static.crates.io/crates","api":"https://crates.io",)"
                            R"("auth-required":false})",
                            "http://cache:8080/crates");
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(*got,
            "{\"auth-required\":false,\"dl\":\"http://cache:8080/crates/crates/{crate}/"
            "{crate}-{version}.crate\"}\n");
}

TEST(CratesCacheRules, TheLocalUrlIsEscapedAsJson) {
  auto got = rewrite_config("config.json", R"({"dl":"https://d/"})", "http://h\"},\"api\":\"x");
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(got->find("\"api\""), std::string::npos) << *got;
  EXPECT_NE(got->find("h\\\"},"), std::string::npos) << *got;
}

TEST(CratesCacheRules, NoConfigNoRewrite) {
  EXPECT_FALSE(rewrite_config("config.json", "not json", "http://c").ok());
  EXPECT_FALSE(rewrite_config("config.json", R"({"api":"x"})", "http://c").ok());
  EXPECT_TRUE(crates::is_cache_document("config.json"));
  EXPECT_FALSE(crates::is_cache_document("3/a/abc"));
}

class CrateOrigin : public ::testing::Test {
 protected:
  std::map<std::string, std::string> cached = {
      {"config.json", R"({"dl":"https://dl.example/{crate}/{sha256-checksum}"})"},
      {"ab/cd/abcd", R"({"name":"abcd","vers":"1.0.0","cksum":")" + std::string(64, 'a') +
                         R"(","deps":[]})"
                         "\n"}};
  ReadCachedFn read = [this](std::string_view rel) -> std::optional<std::string> {
    auto it = cached.find(std::string(rel));
    if (it == cached.end()) return std::nullopt;
    return it->second;
  };
};

TEST_F(CrateOrigin, FromTheUpstreamDlVerifiedByTheIndexCksum) {
  auto got = crate_origin("crates/abcd/abcd-1.0.0.crate", read);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->url, "https://dl.example/abcd/" + std::string(64, 'a'));
  EXPECT_EQ(got->file.digests.sha256, std::string(64, 'a'));
}

TEST_F(CrateOrigin, NothingForUnlistedVersionsOtherPathsOrUncachedIndexes) {
  for (auto rel : {"crates/abcd/abcd-1.0.1.crate", "crates/abcd/abcd-1.0.0.tar",
                   "crates/abcd/other-1.0.0.crate", "crates/abcd/abcd-.crate", "ab/cd/abcd",
                   "crates/../abcd-1.0.0.crate", "crates/wxyz/wxyz-1.0.0.crate"}) {
    EXPECT_FALSE(crate_origin(rel, read).has_value()) << rel;
  }
  cached.erase("config.json");
  EXPECT_FALSE(crate_origin("crates/abcd/abcd-1.0.0.crate", read).has_value());
}

}  // namespace
}  // namespace depot

#include "sources/crates/index_file.h"

#include <gtest/gtest.h>

namespace depot::crates {
namespace {

const std::string kSum(64, 'a');

std::string line(const std::string& name, const std::string& vers, const std::string& extra = "") {
  return R"({"name":")" + name + R"(","vers":")" + vers + R"(","cksum":")" + kSum + "\"" +
         extra + "}";
}

TEST(CratesIndexFile, PathsFollowCargosLayoutInLowercase) {
  EXPECT_EQ(*index_path("a"), "1/a");
  EXPECT_EQ(*index_path("ab"), "2/ab");
  EXPECT_EQ(*index_path("abc"), "3/a/abc");
  EXPECT_EQ(*index_path("Serde"), "se/rd/serde");
  EXPECT_EQ(*index_path("cargo-deny"), "ca/rg/cargo-deny");
  for (const char* bad : {"", "../x", "a/b", "1abc", "a b", "x\n"}) {
    auto p = index_path(bad);
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_EQ(p.error().code, ErrorCode::kUnsafePath);
  }
  EXPECT_FALSE(index_path(std::string(65, 'a')).ok());
}

TEST(CratesIndexFile, VersionsWithDependenciesOfEveryKind) {
  std::string text =
      line("Foo", "1.0.0") + "\n\n" +
      line("Foo", "1.1.0-rc.1+build.5",
           R"(,"yanked":true,"deps":[{"name":"b","req":"^1","kind":"normal"},)"
           R"({"name":"alias","package":"real-crate","req":"^2","kind":"dev"},)"
           R"({"name":"ext","req":"1","registry":"https://other.example/index"}])") +
      "\n";
  auto v = parse_index_file(text, "foo", "u/3/f/foo");
  ASSERT_TRUE(v.ok()) << v.error().message;
  ASSERT_EQ(v->size(), 2u);
  EXPECT_EQ((*v)[0].name, "Foo");
  EXPECT_FALSE((*v)[0].yanked);
  EXPECT_EQ((*v)[1].vers, "1.1.0-rc.1+build.5");
  EXPECT_TRUE((*v)[1].yanked);
  ASSERT_EQ((*v)[1].deps.size(), 3u);
  EXPECT_EQ((*v)[1].deps[0].crate, "b");
  EXPECT_EQ((*v)[1].deps[1].crate, "real-crate");  // renamed: the package is what is fetched
  EXPECT_EQ((*v)[1].deps[2].registry, "https://other.example/index");
}

TEST(CratesIndexFile, HostileOrMalformedLinesFailTheFileNamingTheLine) {
  struct Case {
    std::string text;
    ErrorCode code;
  };
  const Case cases[] = {
      {line("foo", "1.0.0") + "\n{not json", ErrorCode::kParse},
      {line("other", "1.0.0"), ErrorCode::kUnsafePath},
      {line("../foo", "1.0.0"), ErrorCode::kUnsafePath},
      {line("foo", "../../x"), ErrorCode::kUnsafePath},
      {line("foo", "1.0/0"), ErrorCode::kUnsafePath},
      {R"({"name":"foo","vers":"1.0.0","cksum":"abc"})", ErrorCode::kParse},
      {line("foo", "1.0.0", R"(,"deps":[{"name":"../x","req":"1"}])"), ErrorCode::kUnsafePath},
  };
  for (const auto& c : cases) {
    auto v = parse_index_file(c.text, "foo", "u/3/f/foo");
    ASSERT_FALSE(v.ok()) << c.text;
    EXPECT_EQ(v.error().code, c.code) << c.text;
    EXPECT_NE(v.error().message.find("u/3/f/foo:"), std::string::npos) << v.error().message;
  }
}

TEST(CratesIndexFile, ConfigDlAndDownloadUrls) {
  EXPECT_EQ(*parse_config_dl(R"({"dl":"https://static.crates.io/crates","api":"x"})", "c"),
            "https://static.crates.io/crates");
  EXPECT_FALSE(parse_config_dl(R"({"api":"https://x"})", "c").ok());
  EXPECT_FALSE(parse_config_dl(R"({"dl":"file:///etc"})", "c").ok());
  EXPECT_FALSE(parse_config_dl("[]", "c").ok());
  EXPECT_FALSE(parse_config_dl(std::string_view(), "c").ok());  // no data pointer at all

  Version v{"Serde", "1.0.0", kSum, false, {}};
  EXPECT_EQ(crate_url("https://dl.example/api/v1/crates", v),
            "https://dl.example/api/v1/crates/Serde/1.0.0/download");
  EXPECT_EQ(crate_url("https://dl.example/{prefix}/{lowerprefix}/{crate}-{version}.crate?s="
                      "{sha256-checksum}",
                      v),
            "https://dl.example/Se/rd/se/rd/Serde-1.0.0.crate?s=" + kSum);
  Version a{"ab", "0.1.0", kSum, false, {}};
  EXPECT_EQ(crate_url("http://h/{prefix}/{crate}", a), "http://h/2/ab");
}

}  // namespace
}  // namespace depot::crates

#include "sources/source.h"

#include <gtest/gtest.h>

namespace depot {
namespace {

TEST(Source, JoinUrl) {
  EXPECT_EQ(join_url("http://h/a", "b"), "http://h/a/b");
  EXPECT_EQ(join_url("http://h/a/", "/b"), "http://h/a/b");
}

TEST(Source, EscapeUrlSegment) {
  EXPECT_EQ(escape_url_segment("pkg-1.0+cpu_0.conda"), "pkg-1.0+cpu_0.conda");
  EXPECT_EQ(escape_url_segment("a b%41#x?y/z"), "a%20b%2541%23x%3Fy%2Fz");
  EXPECT_EQ(escape_url_segment("\xc3\xa9"), "%C3%A9");
}

TEST(Source, RegistryByName) {
  auto names = source_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "conda"), names.end());
  SourceOptions opts;
  opts.upstream = "http://127.0.0.1:1/x";
  EXPECT_TRUE(make_source("conda", opts).ok());
  auto bad = make_source("nope", opts);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("conda"), std::string::npos);  // lists the known kinds
  opts.lists["subdir"] = {"../x"};
  EXPECT_FALSE(make_source("conda", opts).ok());
}

}  // namespace
}  // namespace depot

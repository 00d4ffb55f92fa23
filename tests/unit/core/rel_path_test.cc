#include "core/rel_path.h"

#include <gtest/gtest.h>

namespace depot {
namespace {

TEST(RelPath, AcceptsOrdinaryPaths) {
  for (const char* p : {"a", "noarch/pkg-1.0-0.conda", "pool/main/j/jq/jq_1.6_amd64.deb",
                        ".hidden", "a/.depot", "a..b", "..a", "a b"}) {
    auto r = RelPath::parse(p);
    ASSERT_TRUE(r.ok()) << p << ": " << r.error().message;
    EXPECT_EQ(r->str(), p);
  }
}

TEST(RelPath, RefusesEscapes) {
  for (const char* p : {"", "/etc/passwd", "..", "../x", "a/../../b", "sub/..", "a/./b", ".",
                        "a//b", "a/", "a\\..\\b", ".depot/state.db", ".depot"}) {
    auto r = RelPath::parse(p);
    EXPECT_FALSE(r.ok()) << p;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, ErrorCode::kUnsafePath) << p;
    }
  }
}

TEST(RelPath, RefusesControlCharactersAndNul) {
  EXPECT_FALSE(RelPath::parse(std::string("a\0b", 3)).ok());
  EXPECT_FALSE(RelPath::parse("a\nb").ok());
  EXPECT_FALSE(RelPath::parse("a\x7f").ok());
  EXPECT_FALSE(RelPath::parse(std::string(300, 'x')).ok());
}

TEST(RelPath, ErrorNamesThePathEscaped) {
  auto r = RelPath::parse("../evil\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("../evil\\x0a"), std::string::npos) << r.error().message;
}

TEST(RelPath, FilenameParentJoin) {
  auto r = RelPath::parse("a/b/c.txt");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->filename(), "c.txt");
  EXPECT_EQ(r->parent(), "a/b");
  auto top = RelPath::parse("c.txt");
  EXPECT_EQ(top->parent(), "");
  EXPECT_TRUE(r->join("d").ok());
  EXPECT_FALSE(r->join("../../..").ok());
}

}  // namespace
}  // namespace depot

namespace depot {
namespace {

TEST(RelPath, StringFormsOfFilenameParentAndJoin) {
  EXPECT_EQ(rel_filename("a/b/c.deb"), "c.deb");
  EXPECT_EQ(rel_filename("top"), "top");
  EXPECT_EQ(rel_parent("a/b/c.deb"), "a/b");
  EXPECT_EQ(rel_parent("top"), "");
  EXPECT_EQ(rel_join("a/b", "c"), "a/b/c");
  EXPECT_EQ(rel_join("", "c"), "c");
}

}  // namespace
}  // namespace depot

#include "pool/deb_relations.h"

#include <gtest/gtest.h>

namespace depot::pool {
namespace {

TEST(DebRelationsTest, ParsesAlternativesVersionsAndQualifiers) {
  auto r = parse_relations(
      "libc6 (>= 2.34), python3:any | python3-minimal (<< 3.12~),\n perl:native,"
      " foo (= 1:2.0-1) [amd64] <!nocheck>, bar:arm64 (>>1)");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_EQ(r->size(), 5u);
  const auto& g = *r;
  ASSERT_EQ(g[0].alternatives.size(), 1u);
  EXPECT_EQ(g[0].alternatives[0].name, "libc6");
  EXPECT_EQ(g[0].alternatives[0].op, VersionOp::kGreaterEq);
  EXPECT_EQ(g[0].alternatives[0].version, "2.34");
  ASSERT_EQ(g[1].alternatives.size(), 2u);
  EXPECT_EQ(g[1].alternatives[0].arch_qualifier, "any");
  EXPECT_EQ(g[1].alternatives[0].op, VersionOp::kNone);
  EXPECT_EQ(g[1].alternatives[1].name, "python3-minimal");
  EXPECT_EQ(g[1].alternatives[1].op, VersionOp::kLess);
  EXPECT_EQ(g[1].alternatives[1].version, "3.12~");
  EXPECT_EQ(g[2].alternatives[0].arch_qualifier, "native");
  EXPECT_EQ(g[3].alternatives[0].version, "1:2.0-1");
  EXPECT_EQ(g[3].alternatives[0].op, VersionOp::kEqual);
  EXPECT_EQ(g[1].to_string(), "python3:any | python3-minimal (<< 3.12~)");
  auto more = parse_relations("bar:arm64 (>>1), baz (<= 2), old (< 3), older (> 1), , ");
  ASSERT_TRUE(more.ok());
  ASSERT_EQ(more->size(), 4u);
  EXPECT_EQ((*more)[0].alternatives[0].arch_qualifier, "arm64");
  EXPECT_EQ((*more)[0].alternatives[0].op, VersionOp::kGreater);
  EXPECT_EQ((*more)[1].alternatives[0].op, VersionOp::kLessEq);
  EXPECT_EQ((*more)[2].alternatives[0].op, VersionOp::kLessEq);    // obsolete '<'
  EXPECT_EQ((*more)[3].alternatives[0].op, VersionOp::kGreaterEq); // obsolete '>'
  EXPECT_TRUE(parse_relations("")->empty());
}

TEST(DebRelationsTest, RefusesMalformedEntries) {
  for (const char* bad : {"foo (>= )", "foo (~ 1)", "foo (>= 1", "a | | b", "foo bar", "(>= 1)",
                          "foo:", "foo [amd64"}) {
    auto r = parse_relations(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kParse);
  }
}

TEST(DebRelationsTest, VersionConstraintsUseDpkgOrdering) {
  EXPECT_TRUE(version_satisfies("1.0", VersionOp::kNone, ""));
  EXPECT_TRUE(version_satisfies("1.10", VersionOp::kGreater, "1.9"));
  EXPECT_TRUE(version_satisfies("1.0~rc1", VersionOp::kLess, "1.0"));
  EXPECT_TRUE(version_satisfies("1.0-1", VersionOp::kEqual, "1.0-1"));
  EXPECT_FALSE(version_satisfies("1.0-1", VersionOp::kEqual, "1.0-2"));
  EXPECT_TRUE(version_satisfies("1:0.1", VersionOp::kGreaterEq, "9.9"));
  EXPECT_TRUE(version_satisfies("2", VersionOp::kLessEq, "2"));
  EXPECT_FALSE(version_satisfies("2", VersionOp::kLess, "2"));
}

}  // namespace
}  // namespace depot::pool

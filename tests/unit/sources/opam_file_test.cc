#include "sources/opam/opam_file.h"

#include <gtest/gtest.h>

namespace depot::opam {
namespace {

const std::string kSha(64, 'a');
const std::string kMd5(32, 'b');

constexpr const char *kOpam = R"(opam-version: "2.0"
name: "hello" # a comment
maintainer: "a \"quoted\" name"
(* a (* nested *) comment *)
depends: [ "ocaml" {>= "4.08" & < "5.0"} "dune" {build} ]
build: [ ["sh" "-c" "echo %{name}% \
           continued"] {os = "linux"} ]
install: [ ["sh" "-c" "mkdir -p %{bin}% && cp hello.sh %{bin}%/hello"] ]
setenv: [FOO += "x"]
available: !(os = "win32") & ocaml:version >= "4"
description: """raw "text" here"""
url {
  src: "https://example.org/hello-1.0.tar.gz"
  checksum: [
    "sha256=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "md5=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
  ]
  mirrors: "https://mirror.example/hello-1.0.tar.gz"
}
extra-source "patch.diff" {
  src: "https://example.org/patch.diff"
  checksum: "md5=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
}
)";

TEST(OpamFile, ParsesFieldsSectionsStringsAndLists) {
  auto f = parse_file(kOpam, "opam");
  ASSERT_TRUE(f.ok()) << f.error().message;
  ASSERT_NE(f->field("maintainer"), nullptr);
  EXPECT_EQ(f->field("maintainer")->text, "a \"quoted\" name");
  EXPECT_EQ(f->field("description")->text, "raw \"text\" here");
  const Value *build = f->field("build");
  ASSERT_NE(build, nullptr);
  ASSERT_EQ(build->kind, Value::Kind::kList);
  ASSERT_EQ(build->items[0].kind, Value::Kind::kOption);
  EXPECT_EQ(build->items[0].items[0].items[2].text, "echo %{name}% continued");
  const Value *depends = f->field("depends");
  ASSERT_EQ(depends->items.size(), 2u);
  EXPECT_EQ(depends->items[0].items[1].kind,
            Value::Kind::kInfix);  // >= "4.08" & < "5.0"
  EXPECT_EQ(f->field("available")->kind, Value::Kind::kInfix);
  ASSERT_EQ(f->sections.size(), 2u);
  EXPECT_EQ(f->sections[1].kind, "extra-source");
  EXPECT_EQ(f->sections[1].name, "patch.diff");
}

TEST(OpamFile, ArchivesKeepChecksumOrder) {
  auto f = parse_file(kOpam, "opam");
  ASSERT_TRUE(f.ok()) << f.error().message;
  auto a = archives_of(*f, "opam");
  ASSERT_TRUE(a.ok()) << a.error().message;
  ASSERT_EQ(a->size(), 2u);
  EXPECT_EQ((*a)[0].name, "");
  EXPECT_EQ((*a)[0].src, "https://example.org/hello-1.0.tar.gz");
  EXPECT_EQ((*a)[0].mirrors, std::vector<std::string>{"https://mirror.example/hello-1.0.tar.gz"});
  ASSERT_EQ((*a)[0].checksums.size(), 2u);
  EXPECT_EQ((*a)[0].checksums[0].algo, DigestAlgo::kSha256);
  EXPECT_EQ((*a)[0].checksums[0].hex, kSha);  // lower-cased
  EXPECT_EQ(cache_rel((*a)[0].checksums[0]), "sha256/aa/" + kSha);
  EXPECT_EQ((*a)[1].name, "patch.diff");
  EXPECT_EQ(cache_rel((*a)[1].checksums[0]), "md5/bb/" + kMd5);
}

TEST(OpamFile, Opam12UrlFileAndBareMd5) {
  auto f = parse_file("archive: \"http://x/a.tgz\"\nchecksum: \"" + kMd5 + "\"\n", "url");
  ASSERT_TRUE(f.ok()) << f.error().message;
  auto a = archives_of(*f, "url");
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->size(), 1u);
  EXPECT_EQ((*a)[0].src, "http://x/a.tgz");
  EXPECT_EQ((*a)[0].checksums[0].algo, DigestAlgo::kMd5);
}

TEST(OpamFile, SectionsWithoutChecksumAreLeftOut) {
  auto f = parse_file("url { src: \"git+https://x/y.git\" }\n", "opam");
  ASSERT_TRUE(f.ok());
  auto a = archives_of(*f, "opam");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->empty());
}

TEST(OpamFile, Escapes) {
  auto f = parse_file(R"(a: "t\tn\n\\ \x41\066")", "opam");
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->field("a")->text, "t\tn\n\\ AB");
}

TEST(OpamFile, MalformedInputIsAnErrorNamingTheFileAndLine) {
  for (const char *bad :
       {"a: \"unterminated", "a: [ \"x\"", "url { src: \"x\"", "(* open", "a: \"\\q\"",
        "a: \"\\x4\"", ": \"x\"", "a \"x\"", "a: }", "a: @", "a: \"\\999\""}) {
    auto f = parse_file(std::string("x: 1\n") + bad, "pkg/opam");
    ASSERT_FALSE(f.ok()) << bad;
    EXPECT_EQ(f.error().code, ErrorCode::kParse);
    EXPECT_NE(f.error().message.find("pkg/opam: line "), std::string::npos) << f.error().message;
  }
}

TEST(OpamFile, DeepNestingIsRefused) {
  std::string deep = "a: " + std::string(10000, '[') + std::string(10000, ']');
  EXPECT_FALSE(parse_file(deep, "opam").ok());
  std::string bang = "a: " + std::string(10000, '!') + "x";
  EXPECT_FALSE(parse_file(bang, "opam").ok());
}

TEST(OpamFile, BadChecksumsAreErrors) {
  for (const char *bad : {"sha1="
                          "0123456789012345678901234567890123456789",
                          "md5=xyz", "sha256=abc", "blake=00"}) {
    auto f = parse_file(std::string("url { src: \"http://x\" checksum: \"") + bad + "\" }", "opam");
    ASSERT_TRUE(f.ok()) << bad;
    auto a = archives_of(*f, "pkg/opam");
    ASSERT_FALSE(a.ok()) << bad;
    EXPECT_NE(a.error().message.find("pkg/opam"), std::string::npos);
  }
  auto f = parse_file("url { src: \"http://x\" checksum: [ 1 ] }", "opam");
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(archives_of(*f, "opam").ok());
}

}  // namespace
}  // namespace depot::opam

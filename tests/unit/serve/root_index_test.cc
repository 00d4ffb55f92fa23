#include "serve/root_index.h"

#include <gtest/gtest.h>

namespace depot {
namespace {

const char* kRelease =
    "Origin: Test\n"
    "Suite: stable\n"
    "Acquire-By-Hash: yes\n"
    "SHA256:\n"
    " 0000000000000000000000000000000000000000000000000000000000000001 10 main/binary-amd64/Packages\n"
    " 0000000000000000000000000000000000000000000000000000000000000002 5 main/binary-amd64/Packages.xz\n";

TEST(RootIndex, CandidateRootsByLayout) {
  EXPECT_EQ(candidate_roots("debian/dists/stable/main/binary-amd64/Packages.xz"),
            (std::vector<std::string>{"debian/dists/stable/InRelease",
                                      "debian/dists/stable/Release"}));
  EXPECT_EQ(candidate_roots("dists/stable/main/i18n/Translation-en"),
            (std::vector<std::string>{"dists/stable/InRelease", "dists/stable/Release"}));
  EXPECT_TRUE(candidate_roots("debian/dists/stable/InRelease").empty());
  EXPECT_TRUE(candidate_roots("debian/dists/stable/main/binary-amd64/by-hash/SHA256/ab").empty());
  EXPECT_TRUE(candidate_roots("debian/pool/main/a/a.deb").empty());
  EXPECT_TRUE(candidate_roots("notdists/x/y").empty());
  EXPECT_EQ(candidate_roots("fedora/repodata/abc-primary.xml.zst"),
            (std::vector<std::string>{"fedora/repodata/repomd.xml"}));
  EXPECT_TRUE(candidate_roots("fedora/repodata/repomd.xml.asc").empty());
}

TEST(RootIndex, ReleaseNamesItsIndexesWithByHashCopies) {
  RootIndex idx;
  auto n = idx.lookup("d/dists/stable/Release", "v1", kRelease,
                      "d/dists/stable/main/binary-amd64/Packages.xz");
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->size, 5u);
  EXPECT_EQ(n->digests.sha256,
            "0000000000000000000000000000000000000000000000000000000000000002");
  EXPECT_EQ(n->by_hash_rel,
            "d/dists/stable/main/binary-amd64/by-hash/SHA256/"
            "0000000000000000000000000000000000000000000000000000000000000002");
  EXPECT_FALSE(idx.lookup("d/dists/stable/Release", "v1", kRelease,
                          "d/dists/stable/main/binary-i386/Packages")
                   .has_value());
  bool parsed = false;
  auto again = idx.lookup_parsed("d/dists/stable/Release", "v1",
                                 "d/dists/stable/main/binary-amd64/Packages", &parsed);
  EXPECT_TRUE(parsed);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->size, 10u);
  idx.lookup_parsed("d/dists/stable/Release", "v2", "x", &parsed);
  EXPECT_FALSE(parsed);  // another version must be parsed again
}

TEST(RootIndex, UnparsableRootNamesNothing) {
  RootIndex idx;
  EXPECT_FALSE(idx.lookup("dists/s/InRelease", "v", "garbage", "dists/s/main/Packages"));
}

TEST(RootIndex, RepomdNamesRepodataFiles) {
  const char* xml =
      "<?xml version=\"1.0\"?>\n"
      "<repomd xmlns=\"http://linux.duke.edu/metadata/repo\"><revision>1</revision>"
      "<data type=\"primary\"><checksum type=\"sha256\">"
      "00000000000000000000000000000000000000000000000000000000000000aa</checksum>"
      "<location href=\"repodata/aa-primary.xml.gz\"/><size>42</size></data></repomd>\n";
  RootIndex idx;
  auto n = idx.lookup("el/repodata/repomd.xml", "v", xml, "el/repodata/aa-primary.xml.gz");
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->size, 42u);
  EXPECT_EQ(n->digests.sha256,
            "00000000000000000000000000000000000000000000000000000000000000aa");
  EXPECT_TRUE(n->by_hash_rel.empty());
}

}  // namespace
}  // namespace depot

namespace depot {
namespace {

TEST(RootIndex, ByHashPathsNameTheirOwnDigest) {
  std::string hex(64, 'a');
  auto n = by_hash_expectation("d/dists/s/main/binary-amd64/by-hash/SHA256/" + hex);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->digests.sha256, hex);
  EXPECT_TRUE(by_hash_expectation("by-hash/SHA512/" + std::string(128, 'b')).has_value());
  EXPECT_FALSE(by_hash_expectation("d/by-hash/SHA256/xyz").has_value());
  EXPECT_FALSE(by_hash_expectation("d/by-hash/MD5Sum/" + std::string(32, 'c')).has_value());
  EXPECT_FALSE(by_hash_expectation("d/pool/a.deb").has_value());
}

}  // namespace
}  // namespace depot

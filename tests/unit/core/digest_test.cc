#include "core/digest.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace depot {
namespace {

constexpr const char* kAbcSha256 =
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr const char* kAbcMd5 = "900150983cd24fb0d6963f7d28e17f72";
constexpr const char* kAbcSha1 = "a9993e364706816aba3e25717850c26c9cd0d89d";

TEST(Hasher, KnownVectors) {
  Hasher h(digest_bit(DigestAlgo::kSha256) | digest_bit(DigestAlgo::kMd5) |
           digest_bit(DigestAlgo::kSha1) | digest_bit(DigestAlgo::kSha512));
  h.update("abc");
  Digests d = h.finish();
  EXPECT_EQ(d.sha256, kAbcSha256);
  EXPECT_EQ(d.md5, kAbcMd5);
  EXPECT_EQ(d.sha1, kAbcSha1);
  EXPECT_EQ(d.sha512.substr(0, 16), "ddaf35a193617aba");
}

TEST(Sha256Hex, OneCallOverTextAndBytes) {
  EXPECT_EQ(sha256_hex("abc"), kAbcSha256);
  const std::string abc = "abc";
  EXPECT_EQ(sha256_hex(std::as_bytes(std::span(abc))), kAbcSha256);
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Hasher, StreamingEqualsOneShotAndResets) {
  Hasher h(digest_bit(DigestAlgo::kSha256));
  h.update("a");
  h.update("");
  h.update("bc");
  EXPECT_EQ(h.finish().sha256, kAbcSha256);
  h.update("abc");  // finish() resets
  EXPECT_EQ(h.finish().sha256, kAbcSha256);
  h.update("garbage");
  h.reset();
  h.update("abc");
  EXPECT_EQ(h.finish().sha256, kAbcSha256);
}

TEST(Hasher, OnlyRequestedAlgorithms) {
  Hasher h(digest_bit(DigestAlgo::kMd5));
  h.update("abc");
  Digests d = h.finish();
  EXPECT_EQ(d.md5, kAbcMd5);
  EXPECT_TRUE(d.sha256.empty());
}

TEST(Digests, VerifyReportsMismatchNamingTheFile) {
  Digests want;
  want.sha256 = kAbcSha256;
  Digests got;
  got.sha256 = std::string(64, '0');
  auto s = want.verify(got, "noarch/x.conda");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kDigestMismatch);
  EXPECT_TRUE(s.error().transient);
  EXPECT_NE(s.error().message.find("noarch/x.conda"), std::string::npos);
  got.sha256 = kAbcSha256;
  EXPECT_TRUE(want.verify(got, "x").ok());
}

TEST(Digests, MatchesNeedsASharedDigest) {
  Digests a, b;
  a.sha256 = kAbcSha256;
  b.md5 = kAbcMd5;
  EXPECT_FALSE(a.matches(b));  // nothing shared: not a match
  b.sha256 = kAbcSha256;
  EXPECT_TRUE(a.matches(b));
  b.sha256[0] = 'c';
  EXPECT_FALSE(a.matches(b));
}

TEST(Digests, StrongestAndNormalize) {
  Digests d;
  d.md5 = kAbcMd5;
  EXPECT_EQ(d.strongest(), std::string("md5:") + kAbcMd5);
  d.sha256 = kAbcSha256;
  EXPECT_EQ(d.strongest(), std::string("sha256:") + kAbcSha256);
  auto n = normalize_hex_digest(DigestAlgo::kMd5, "900150983CD24FB0D6963F7D28E17F72");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, kAbcMd5);
  EXPECT_FALSE(normalize_hex_digest(DigestAlgo::kMd5, "zz0150983cd24fb0d6963f7d28e17f72").ok());
  EXPECT_FALSE(normalize_hex_digest(DigestAlgo::kSha256, kAbcMd5).ok());
}

TEST(Hasher, MaskSkipsWeakDigestsWhenSha2IsKnown) {
  Digests d;
  d.md5 = kAbcMd5;
  EXPECT_EQ(Hasher::mask_for(d), digest_bit(DigestAlgo::kSha256) | digest_bit(DigestAlgo::kMd5));
  d.sha256 = kAbcSha256;
  EXPECT_EQ(Hasher::mask_for(d), digest_bit(DigestAlgo::kSha256));
  d.sha512 = "x";
  EXPECT_EQ(Hasher::mask_for(d),
            digest_bit(DigestAlgo::kSha256) | digest_bit(DigestAlgo::kSha512));
}

TEST(HashFile, HashesContentAndNamesMissingFile) {
  auto path = std::filesystem::temp_directory_path() / "depot_digest_test.txt";
  { std::ofstream(path) << "abc"; }
  auto d = hash_file(path.string(), digest_bit(DigestAlgo::kSha256));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->sha256, kAbcSha256);
  std::filesystem::remove(path);
  auto missing = hash_file(path.string(), digest_bit(DigestAlgo::kSha256));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find(path.string()), std::string::npos);
}

}  // namespace
}  // namespace depot

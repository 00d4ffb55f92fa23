#include "sources/apt/release.h"

#include <gtest/gtest.h>

namespace depot::apt {
namespace {

const std::string kSha(64, 'a'), kMd5(32, 'b');

std::string release_text() {
  return "Origin: Debian\nSuite: stable\nCodename: bookworm\nAcquire-By-Hash: yes\n"
         "Architectures: amd64 arm64\nComponents: main contrib\n"
         "MD5Sum:\n " + kMd5 + " 10 main/binary-amd64/Packages\n"
         "SHA256:\n " + kSha + " 10 main/binary-amd64/Packages\n " + kSha +
         " 3 main/i18n/Translation-en.bz2\n";
}

TEST(Release, FieldsAndMergedChecksums) {
  auto r = parse_release(release_text(), "R");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->codename, "bookworm");
  EXPECT_TRUE(r->acquire_by_hash);
  EXPECT_EQ(r->architectures, (std::vector<std::string>{"amd64", "arm64"}));
  ASSERT_EQ(r->files.size(), 2u);
  EXPECT_EQ(r->files[0].path, "main/binary-amd64/Packages");
  EXPECT_EQ(r->files[0].size, 10u);
  EXPECT_EQ(r->files[0].digests.md5, kMd5);
  EXPECT_EQ(r->files[0].digests.sha256, kSha);
}

TEST(Release, MalformedInputIsAnErrorNamingTheFile) {
  for (std::string bad : {
           std::string("Suite: x\n"),                                     // no checksums
           "SHA256:\n " + kSha + " ten main/x\n",                         // bad size
           std::string("SHA256:\n zz 1 main/x\n"),                        // bad digest
           "SHA256:\n " + kSha + " 1\n",                                  // missing path
           "MD5Sum:\n " + kMd5 + " 1 a\nSHA256:\n " + kSha + " 2 a\n",  // two sizes
           std::string(""),
       }) {
    auto r = parse_release(bad, "http://u/dists/s/Release");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("http://u/dists/s/Release"), std::string::npos);
  }
}

TEST(Release, ClearsignedTextIsUnescaped) {
  std::string doc =
      "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nSuite: s\n- -dashed\n"
      "-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----\n";
  auto t = clearsigned_text(doc, "InRelease");
  ASSERT_TRUE(t.ok()) << t.error().to_string();
  EXPECT_EQ(*t, "Suite: s\n-dashed\n");
}

TEST(Release, ClearsignedRefusesTextOutsideTheSignature) {
  const std::string body =
      "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nSuite: s\n"
      "-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----\n";
  EXPECT_FALSE(clearsigned_text("Suite: evil\n" + body, "I").ok());
  EXPECT_FALSE(clearsigned_text(body + "SHA256:\n evil\n", "I").ok());
  EXPECT_FALSE(clearsigned_text("Suite: plain\n", "I").ok());
  EXPECT_FALSE(clearsigned_text(body.substr(0, body.find("-----END")), "I").ok());
}

TEST(Release, ClassifyIndexSelectsComponentsAndArchitectures) {
  Selection sel{{"main"}, {"amd64", "all"}, false};
  EXPECT_EQ(classify_index("main/binary-amd64/Packages.xz", sel), IndexKind::kPackages);
  EXPECT_EQ(classify_index("main/binary-amd64/Packages", sel), IndexKind::kPackages);
  EXPECT_EQ(classify_index("main/binary-all/Packages.gz", sel), IndexKind::kPackages);
  EXPECT_EQ(classify_index("main/binary-amd64/Release", sel), IndexKind::kOther);
  EXPECT_EQ(classify_index("main/binary-arm64/Packages.xz", sel), IndexKind::kSkip);
  EXPECT_EQ(classify_index("contrib/binary-amd64/Packages.xz", sel), IndexKind::kSkip);
  EXPECT_EQ(classify_index("main/i18n/Translation-de.bz2", sel), IndexKind::kOther);
  EXPECT_EQ(classify_index("main/source/Sources.xz", sel), IndexKind::kSkip);
  EXPECT_EQ(classify_index("main/Contents-amd64.gz", sel), IndexKind::kSkip);
  EXPECT_EQ(classify_index("main/dep11/Components-amd64.yml.gz", sel), IndexKind::kOther);
  EXPECT_EQ(classify_index("main/dep11/Components-arm64.yml.gz", sel), IndexKind::kSkip);
  EXPECT_EQ(classify_index("main/dep11/icons-64x64.tar.gz", sel), IndexKind::kOther);
  EXPECT_EQ(classify_index("main/cnf/Commands-amd64.xz", sel), IndexKind::kOther);
  EXPECT_EQ(classify_index("main/binary-amd64/by-hash/SHA256/ab", sel), IndexKind::kSkip);
  EXPECT_EQ(classify_index("main/debian-installer/binary-amd64/Packages", sel), IndexKind::kSkip);

  Selection with{{"main"}, {"amd64", "source"}, true};
  EXPECT_EQ(classify_index("main/source/Sources.xz", with), IndexKind::kSources);
  EXPECT_EQ(classify_index("main/Contents-amd64.gz", with), IndexKind::kOther);
  EXPECT_EQ(classify_index("Contents-amd64.gz", with), IndexKind::kOther);
  EXPECT_EQ(classify_index("main/Contents-udeb-amd64.gz", with), IndexKind::kOther);
  EXPECT_EQ(classify_index("main/Contents-source.gz", with), IndexKind::kOther);

  Selection everything{{}, {}, false};
  EXPECT_EQ(classify_index("non-free/binary-s390x/Packages.xz", everything), IndexKind::kPackages);
  EXPECT_EQ(classify_index("updates/main/binary-amd64/Packages.xz", Selection{{"updates/main"}, {"amd64"}, false}),
            IndexKind::kPackages);
}

TEST(Release, DatesParseWithAnyZone) {
  EXPECT_EQ(parse_release_date("Sat, 21 Nov 2026 22:55:15 UTC"), 1795301715);
  EXPECT_EQ(parse_release_date("Sat, 21 Nov 2026 22:55:15 +0000"), 1795301715);
  EXPECT_EQ(parse_release_date("Sat, 21 Nov 2026 23:55:15 +0100"), 1795301715);
  EXPECT_EQ(parse_release_date("Sat, 21 Nov 2026 21:55:15 -0100"), 1795301715);
  EXPECT_FALSE(parse_release_date("yesterday").has_value());
  EXPECT_FALSE(parse_release_date("Sat, 21 Nov 2026 22:55:15 CET").has_value());
}

}  // namespace
}  // namespace depot::apt

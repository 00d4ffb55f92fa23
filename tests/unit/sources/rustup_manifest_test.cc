#include "sources/rustup/manifest.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace depot::rustup {
namespace {

const std::string kUp = "http://up.example/rust";

std::string sum(char c) { return std::string(64, c); }

// A manifest in the shape static.rust-lang.org publishes.
std::string manifest(
    const std::string &rustc_url = kCanonicalServer.data() +
                                   std::string("/dist/2025-01-09/"
                                               "rustc-1.84.0-x86_64-unknown-"
                                               "linux-gnu.tar.gz")) {
  return R"(manifest-version = "2"
date = "2025-01-09"
[pkg.rustc]
version = "1.84.0"
[pkg.rustc.target.x86_64-unknown-linux-gnu]
available = true
url = ")" +
         rustc_url + R"("
hash = ")" +
         sum('a') + R"("
xz_url = "https://static.rust-lang.org/dist/2025-01-09/rustc-1.84.0-x86_64-unknown-linux-gnu.tar.xz"
xz_hash = ")" +
         sum('B') + R"("
[pkg.rustc.target.aarch64-unknown-linux-gnu]
available = true
url = "https://static.rust-lang.org/dist/2025-01-09/rustc-1.84.0-aarch64-unknown-linux-gnu.tar.gz"
hash = ")" +
         sum('c') + R"("
[pkg.rustc.target.i686-pc-windows-gnu]
available = false
[pkg.rust-src]
version = "1.84.0"
[pkg.rust-src.target."*"]
available = true
url = "http://up.example/rust/dist/2025-01-09/rust-src-1.84.0.tar.gz"
hash = ")" +
         sum('d') + R"("
[pkg.rust]
version = "1.84.0"
[pkg.rust.target.x86_64-unknown-linux-gnu]
available = true
url = "https://static.rust-lang.org/dist/2025-01-09/rust-1.84.0-x86_64-unknown-linux-gnu.tar.gz"
hash = ")" +
         sum('e') + R"("
[[pkg.rust.target.x86_64-unknown-linux-gnu.components]]
pkg = "rustc"
target = "x86_64-unknown-linux-gnu"
[profiles]
minimal = ["rustc"]
[renames.rls]
to = "rls-preview"
)";
}

TEST(RustupManifest, ListsEveryArtifactOfTheChosenTargetsAndStar) {
  auto m = parse_channel_manifest(manifest(), {"x86_64-unknown-linux-gnu"}, kUp,
                                  "m.toml");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->date, "2025-01-09");
  std::vector<std::pair<std::string, std::string>> got;
  for (const auto &a : m->artifacts)
    got.emplace_back(a.path, a.sha256);
  std::vector<std::pair<std::string, std::string>> want = {
      {"dist/2025-01-09/rust-1.84.0-x86_64-unknown-linux-gnu.tar.gz", sum('e')},
      {"dist/2025-01-09/rust-src-1.84.0.tar.gz", sum('d')},
      {"dist/2025-01-09/rustc-1.84.0-x86_64-unknown-linux-gnu.tar.gz",
       sum('a')},
      {"dist/2025-01-09/rustc-1.84.0-x86_64-unknown-linux-gnu.tar.xz",
       sum('b')},
  };
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, want);
  auto two = parse_channel_manifest(manifest(),
                                    {"x86_64-unknown-linux-gnu",
                                     "aarch64-unknown-linux-gnu",
                                     "i686-pc-windows-gnu"},
                                    kUp, "m.toml");
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->artifacts.size(),
            5u); // + aarch64 rustc; windows is not available
}

TEST(RustupManifest, HostileUrlsAreRefusedNamingTheManifest) {
  for (const std::string url :
       {"https://evil.example/dist/2025-01-09/x.tar.gz",
        "https://static.rust-lang.org.evil.example/dist/2025-01-09/x.tar.gz",
        "https://static.rust-lang.org/dist/2025-01-09/../../etc/passwd",
        "https://static.rust-lang.org/dist/2025-01-09/%2e%2e/x.tar.gz",
        "https://static.rust-lang.org/dist/2025-01-09/x.tar.gz?y",
        "https://static.rust-lang.org/dist/channel-rust-stable.toml",
        "https://static.rust-lang.org/dist/2025-01-09/channel-rust-stable.toml",
        "https://static.rust-lang.org/rustup/dist/x86_64-unknown-linux-gnu/"
        "rustup-init",
        "https://static.rust-lang.org/dist/2025-13-09/x.tar.gz",
        "https://static.rust-lang.org/dist/2025-01-09/a/x.tar.gz",
        "http://up.example/rustx/dist/2025-01-09/x.tar.gz",
        "/dist/2025-01-09/x.tar.gz"}) {
    auto m =
        parse_channel_manifest(manifest(url), {"x86_64-unknown-linux-gnu"}, kUp,
                               "http://up/dist/channel-rust-stable.toml");
    ASSERT_FALSE(m.ok()) << url;
    EXPECT_EQ(m.error().code, ErrorCode::kUnsafePath) << url;
    EXPECT_NE(m.error().message.find(
                  "http://up/dist/channel-rust-stable.toml: "
                  "pkg.rustc.target.x86_64-unknown-linux-gnu: url"),
              std::string::npos)
        << m.error().message;
  }
}

TEST(RustupManifest, MalformedManifestsFailNamingTheFile) {
  const std::vector<std::string> t = {"x86_64-unknown-linux-gnu"};
  std::string bad_hash = manifest();
  bad_hash.replace(bad_hash.find(sum('a')), 64, "zz");
  std::string no_hash = manifest();
  no_hash.replace(no_hash.find("hash = \"" + sum('a')), 8 + 64 + 1, "");
  for (const std::string &text :
       {std::string("manifest-version = \"1\"\ndate = \"2025-01-09\"\n[pkg]\n"),
        std::string("manifest-version = \"2\"\ndate = \"yesterday\"\n[pkg]\n"),
        std::string("manifest-version = \"2\"\ndate = \"2025-01-09\"\n"),
        std::string("manifest-version = \"2\"\ndate = "
                    "\"2025-01-09\"\n[pkg]\nrustc = 1\n"),
        std::string("manifest-version = \"2\"\n[[[\n"), bad_hash, no_hash}) {
    auto m = parse_channel_manifest(text, t, kUp, "c.toml");
    ASSERT_FALSE(m.ok()) << text;
    EXPECT_TRUE(m.error().message.starts_with("c.toml")) << m.error().message;
  }
}

TEST(RustupManifest, Sha256FilesAndReleaseToml) {
  auto s =
      parse_sha256_file(sum('A') + "  channel-rust-stable.toml\n", "x.sha256");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, sum('a'));
  EXPECT_EQ(*parse_sha256_file(sum('b'), "x"), sum('b'));
  EXPECT_FALSE(parse_sha256_file("", "x").ok());
  EXPECT_FALSE(parse_sha256_file(sum('g') + "  x\n", "x").ok());
  auto v = parse_release_version(
      "schema-version = \"1\"\nversion = \"1.29.0\"\n", "r.toml");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, "1.29.0");
  EXPECT_FALSE(parse_release_version(
                   "schema-version = \"2\"\nversion = \"1.29.0\"\n", "r")
                   .ok());
  EXPECT_FALSE(
      parse_release_version("schema-version = \"1\"\nversion = \"../x\"\n", "r")
          .ok());
  EXPECT_FALSE(parse_release_version("version = [", "r").ok());
}

TEST(RustupManifest, DatesAndChannels) {
  EXPECT_TRUE(valid_date("2024-02-29"));
  EXPECT_FALSE(valid_date("2023-02-29"));
  EXPECT_FALSE(valid_date("2023-2-28"));
  EXPECT_FALSE(valid_date("2023-02-28x"));
  EXPECT_EQ(days_before("2025-03-01", 1), "2025-02-28");
  EXPECT_EQ(days_before("2025-01-01", 0), "2025-01-01");
  EXPECT_EQ(days_before("2025-01-01", 367), "2023-12-31");
  for (const char *ok : {"stable", "beta", "nightly", "1.95.0", "1.95"}) {
    EXPECT_TRUE(valid_channel(ok)) << ok;
  }
  for (const char *bad : {"", "..", ".x", "a/b", "a b", "nightly\n"}) {
    EXPECT_FALSE(valid_channel(bad)) << bad;
  }
}

} // namespace
} // namespace depot::rustup

#include "pool/packages_file.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>

#include "core/file_io.h"
#include "pool/paragraph.h"
#include "sources/decompress.h"
#include "support/pool_index.h"
#include "support/temp_dir.h"

namespace depot::pool {
namespace {

using depot::testing::TempDir;
using depot::testing::decompressed;
using depot::testing::index_record;
using depot::testing::paragraph_order;
using depot::testing::text_ptrs;

std::string render(std::span<const PackageText* const> pkgs, std::string_view component) {
  auto r = render_packages(pkgs, component);
  EXPECT_TRUE(r.ok()) << r.error().to_string();
  return r.ok() ? *r : std::string();
}

std::vector<Package> many(int n) {
  std::vector<Package> v;
  for (int i = 0; i < n; ++i) v.push_back(index_record("pkg" + std::to_string(i), "1.0", "amd64"));
  return v;
}

TEST(PackagesFile, SortsByNameThenDpkgVersionThenArchitecture) {
  std::vector<Package> v;
  for (const char* ver : {"1.10", "1:0.5", "1.0-1", "1.0", "1.0a", "1.9", "1.0~rc1", "1.0-1~bpo1",
                          "1.0-1.1", "0:1.0-2"}) {
    v.push_back(index_record("b", ver, "amd64"));
  }
  v.push_back(index_record("a", "9", "i386"));
  v.push_back(index_record("a", "9", "amd64"));
  v.push_back(index_record("a-b", "1", "all"));
  v.push_back(index_record("a+b", "1", "all"));
  auto pkgs = text_ptrs(v);
  std::string text = render(pkgs, "main");
  std::vector<std::string> want = {
      "a 9 amd64",    "a 9 i386",           "a+b 1 all",     "a-b 1 all",       "b 1.0~rc1 amd64",
      "b 1.0 amd64",  "b 1.0-1~bpo1 amd64", "b 1.0-1 amd64", "b 1.0-1.1 amd64", "b 0:1.0-2 amd64",
      "b 1.0a amd64", "b 1.9 amd64",        "b 1.10 amd64",  "b 1:0.5 amd64"};
  EXPECT_EQ(paragraph_order(text), want);
  // The order does not depend on the input order.
  std::reverse(pkgs.begin(), pkgs.end());
  EXPECT_EQ(render(pkgs, "main"), text);
}

TEST(PackagesFile, FieldOrderAndGeneratedFields) {
  Package p = index_record("jq", "1.6-2.1", "amd64");
  p.fields = {{"Version", "1.6-2.1"},
              {"Package", "jq"},
              {"Architecture", "amd64"},
              {"Depends", "libjq1 (= 1.6-2.1), libc6 (>= 2.4)"},
              {"Filename", "stale/path.deb"},
              {"Conffiles", "\n /etc/jq.conf 0123"},
              {"Description", "lightweight JSON processor\n jq is like sed.\n .\n More."},
              {"Description-md5", "abc"}};
  std::vector<Package> one = {p};
  const Digests& d = p.file.digests;
  EXPECT_EQ(render(text_ptrs(one), "main"),
            "Package: jq\n"
            "Version: 1.6-2.1\n"
            "Architecture: amd64\n"
            "Depends: libjq1 (= 1.6-2.1), libc6 (>= 2.4)\n"
            "Conffiles:\n /etc/jq.conf 0123\n"
            "Description: lightweight JSON processor\n jq is like sed.\n .\n More.\n"
            "Description-md5: abc\n"
            "Filename: pool/main/j/jq/jq_1.6-2.1_amd64.deb\n"
            "Size: 1002\n"
            "MD5sum: " +
                d.md5 +
                "\n"
                "SHA1: " +
                d.sha1 +
                "\n"
                "SHA256: " +
                d.sha256 + "\n");
  std::vector<Package> two = {index_record("a", "1", "all"), index_record("b", "1", "all")};
  std::string text = render(text_ptrs(two), "main");
  EXPECT_NE(text.find("\n\nPackage: b\n"), std::string::npos);
  EXPECT_EQ(text.find("\n\n\n"), std::string::npos);
  EXPECT_EQ(render({}, "main"), "");
}

TEST(PackagesFile, CompressedFilesRoundTripAndAreDeterministic) {
  TempDir tmp;
  auto v = text_ptrs(many(6000));
  auto plain = build_packages_file(v, "main", {.write_xz = false});
  ASSERT_TRUE(plain.ok()) << plain.error().to_string();
  EXPECT_GT(plain->chunks, 1u);
  EXPECT_TRUE(plain->xz.empty());
  EXPECT_EQ(plain->text, render(v, "main"));
  EXPECT_EQ(plain->gz.substr(0, 4), std::string("\x1f\x8b\x08\0", 4));  // no name
  EXPECT_EQ(decompressed(plain->gz, tmp), plain->text);

  WorkPool work(2);
  auto full = build_packages_file(v, "main", {.xz_preset = 1, .pool = &work});
  ASSERT_TRUE(full.ok()) << full.error().to_string();
  EXPECT_EQ(full->gz, plain->gz);  // the pool changes nothing
  EXPECT_EQ(decompressed(full->xz, tmp), full->text);
  auto again = build_packages_file(v, "main", {.xz_preset = 1});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->xz, full->xz);

  auto empty = build_packages_file({}, "main", {});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->text, "");
  EXPECT_EQ(decompressed(empty->gz, tmp), "");
  EXPECT_EQ(decompressed(empty->xz, tmp), "");
}

TEST(PackagesFile, OneChangedPackageRecompressesOneChunk) {
  TempDir tmp;
  ChunkCache cache(tmp.path() / "chunks");
  std::vector<Package> v = many(6000);
  const PackagesOptions opts{.xz_preset = 0, .cache = &cache};
  auto first = build_packages_file(text_ptrs(v), "main", opts);
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  ASSERT_GT(first->chunks, 2u);
  EXPECT_EQ(first->compressed, 2 * first->chunks);
  EXPECT_EQ(first->reused, 0u);

  auto warm = build_packages_file(text_ptrs(v), "main", opts);
  ASSERT_TRUE(warm.ok());
  EXPECT_EQ(warm->compressed, 0u);
  EXPECT_EQ(warm->reused, 2 * first->chunks);
  EXPECT_EQ(warm->gz, first->gz);
  EXPECT_EQ(warm->xz, first->xz);

  v[3000] = index_record("pkg3000", "2.0", "amd64");  // a new version of one package
  auto changed = build_packages_file(text_ptrs(v), "main", opts);
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(changed->chunks, first->chunks);
  EXPECT_EQ(changed->compressed, 2u);
  EXPECT_EQ(changed->reused, 2 * (first->chunks - 1));
  auto cold = build_packages_file(text_ptrs(v), "main", {.xz_preset = 0});
  ASSERT_TRUE(cold.ok());
  EXPECT_EQ(changed->gz, cold->gz);  // the cache never changes the bytes
  EXPECT_EQ(changed->xz, cold->xz);
  EXPECT_NE(changed->text.find("Version: 2.0"), std::string::npos);
}

TEST(PackagesFile, DamagedCacheFilesAreRecomputed) {
  TempDir tmp;
  ChunkCache cache(tmp.path() / "chunks");
  auto v = text_ptrs(many(3000));
  const PackagesOptions opts{.xz_preset = 0, .cache = &cache};
  auto first = build_packages_file(v, "main", opts);
  ASSERT_TRUE(first.ok());
  int damaged = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(cache.dir())) {
    if (!e.is_regular_file()) continue;
    auto bytes = read_whole_file(e.path(), e.path().string());
    ASSERT_TRUE(bytes.ok());
    std::string b = *bytes;
    b[b.size() / 2] ^= 0x20;
    if (damaged++ % 2 == 0) b.resize(b.size() / 3);
    ASSERT_TRUE(write_whole_file(e.path(), b).ok());
  }
  ASSERT_EQ(damaged, static_cast<int>(2 * first->chunks));
  auto again = build_packages_file(v, "main", opts);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->compressed, 2 * first->chunks);
  EXPECT_EQ(again->gz, first->gz);
  EXPECT_EQ(again->xz, first->xz);
}

TEST(PackagesFile, MalformedStoredParagraphIsRefusedNamingThePackage) {
  PackageText bad = package_text(index_record("broken", "1", "amd64"));
  bad.paragraph = "Version 1\n";
  const PackageText* one[] = {&bad};
  auto r = build_packages_file(one, "main");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kParse);
  EXPECT_NE(r.error().message.find("broken 1 amd64"), std::string::npos);
}

}  // namespace
}  // namespace depot::pool

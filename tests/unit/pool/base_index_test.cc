#include "pool/base_index.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <fstream>

#include "core/digest.h"
#include "support/temp_dir.h"
#include "support/test_http_server.h"

namespace depot::pool {
namespace {

namespace fs = std::filesystem;
using depot::testing::Reply;
using depot::testing::TempDir;
using depot::testing::TestServer;

constexpr const char* kPackages =
    "Package: libc6\nVersion: 2.36-9\nArchitecture: amd64\nProvides: libc-any\n"
    "Description: C library\n continued\n\n"
    "Package: tzdata\nVersion: 2024a-0\nArchitecture: all\n";

std::string gzip(const std::string& data) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(data.size() + 128, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// A Release listing `files` (path -> content) with sizes and sha256.
std::string release(const std::map<std::string, std::string>& files,
                    const std::string& archs = "amd64") {
  std::string r = "Suite: bookworm\nArchitectures: " + archs + "\nComponents: main\nSHA256:\n";
  for (const auto& [path, data] : files) {
    r += " " + sha256_hex(data) + " " + std::to_string(data.size()) + " " + path + "\n";
  }
  return r;
}

class BaseIndexTest : public ::testing::Test {
 protected:
  // An archive under dir_/archive with dists/bookworm/{Release, main/binary-amd64/Packages.gz}.
  fs::path write_archive(const std::string& packages) {
    fs::path root = dir_.path() / "archive", d = root / "dists" / "bookworm";
    fs::create_directories(d / "main" / "binary-amd64");
    std::string gz = gzip(packages);
    std::ofstream(d / "main" / "binary-amd64" / "Packages.gz") << gz;
    std::ofstream(d / "Release") << release({{"main/binary-amd64/Packages.gz", gz}});
    return root;
  }
  TempDir dir_;
  Logger logger_{LogLevel::kError};
};

TEST_F(BaseIndexTest, ParsesNameVersionArchitectureAndProvides) {
  auto p = parse_base_packages(kPackages, "Packages", -1);
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  ASSERT_EQ(p->size(), 2u);
  EXPECT_EQ((*p)[0].id, -1);
  EXPECT_EQ((*p)[1].id, -2);
  EXPECT_EQ((*p)[0].package.name, "libc6");
  EXPECT_EQ((*p)[0].package.version, "2.36-9");
  EXPECT_EQ((*p)[0].package.fields,
            (std::vector<std::pair<std::string, std::string>>{{"Provides", "libc-any"}}));
  EXPECT_EQ((*p)[1].package.architecture, "all");
  auto bad = parse_base_packages("Package: x\nArchitecture: all\n", "Packages", -1);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("Packages: paragraph at line 1"), std::string::npos)
      << bad.error().message;
}

TEST_F(BaseIndexTest, ReadsADirectoryOnceWhileItsReleaseListsTheSameIndex) {
  fs::path root = write_archive(kPackages);
  BaseIndexCache cache(logger_);
  BaseSpec base{root.string(), "bookworm", {"main"}};
  auto a = cache.load(base, {"amd64", "arm64"});  // arm64: not in the Release, skipped
  ASSERT_TRUE(a.ok()) << a.error().to_string();
  ASSERT_EQ(a->size(), 1u);
  EXPECT_EQ((*a)[0]->size(), 2u);
  auto b = cache.load(base, {"amd64"});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)[0].get(), (*a)[0].get());
  EXPECT_EQ(cache.stats().indexes_read, 1u);
  EXPECT_EQ(cache.stats().cache_hits, 1u);

  write_archive(std::string(kPackages) + "\nPackage: new\nVersion: 1\nArchitecture: amd64\n");
  auto c = cache.load(base, {"amd64"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)[0]->size(), 3u);
  EXPECT_EQ(cache.stats().indexes_read, 2u);
  EXPECT_LT((*c)[0]->front().id, (*a)[0]->back().id);  // ids never reused
}

TEST_F(BaseIndexTest, AnUnreadableBaseIsAnErrorNamingIt) {
  BaseIndexCache cache(logger_);
  fs::path root = dir_.path() / "nothing";
  auto r = cache.load({root.string(), "bookworm", {"main"}}, {"amd64"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find(root.string()), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("Release"), std::string::npos) << r.error().message;

  root = write_archive(kPackages);
  auto none = cache.load({root.string(), "bookworm", {"contrib"}}, {"amd64"});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("contrib/binary-amd64/Packages"), std::string::npos)
      << none.error().message;

  // An index that differs from its Release.
  std::ofstream(root / "dists/bookworm/main/binary-amd64/Packages.gz") << gzip("Package: x\n");
  auto bad = cache.load({root.string(), "bookworm", {"main"}}, {"amd64"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("Packages.gz"), std::string::npos) << bad.error().message;
}

TEST_F(BaseIndexTest, ReadsOverHttpPreferringInRelease) {
  TestServer server;
  std::string plain = kPackages;
  std::string rel = release({{"main/binary-amd64/Packages", plain}});
  std::string inrelease = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n" + rel +
                          "-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n";
  server.route("/deb/dists/bookworm/InRelease", {Reply(200, inrelease)});
  server.route("/deb/dists/bookworm/main/binary-amd64/Packages", {Reply(200, plain)});
  BaseIndexCache cache(logger_);
  BaseSpec base{server.url("/deb/"), "bookworm", {"main"}};
  auto a = cache.load(base, {"amd64"});
  ASSERT_TRUE(a.ok()) << a.error().to_string();
  EXPECT_EQ((*a)[0]->size(), 2u);
  ASSERT_TRUE(cache.load(base, {"amd64"}).ok());
  EXPECT_EQ(server.hits("/deb/dists/bookworm/InRelease"), 2);
  EXPECT_EQ(server.hits("/deb/dists/bookworm/main/binary-amd64/Packages"), 1);

  auto gone = cache.load({server.url("/other"), "bookworm", {"main"}}, {"amd64"});
  ASSERT_FALSE(gone.ok());
  EXPECT_NE(gone.error().message.find(server.url("/other")), std::string::npos)
      << gone.error().message;
}

}  // namespace
}  // namespace depot::pool

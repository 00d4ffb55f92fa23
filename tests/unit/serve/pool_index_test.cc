#include "serve/pool_index.h"

#include <gtest/gtest.h>

#include <fstream>

#include "support/temp_dir.h"

namespace depot {
namespace {

TEST(PoolIndex, RecognisesPackagesIndexes) {
  EXPECT_TRUE(PoolIndex::may_name_packages("d/dists/s/main/binary-amd64/Packages.xz"));
  EXPECT_TRUE(PoolIndex::may_name_packages("dists/s/main/binary-amd64/Packages"));
  EXPECT_TRUE(PoolIndex::may_name_packages("d/dists/s/main/binary-amd64/by-hash/SHA256/ab"));
  EXPECT_FALSE(PoolIndex::may_name_packages("d/dists/s/main/i18n/by-hash/SHA256/ab"));
  EXPECT_FALSE(PoolIndex::may_name_packages("d/dists/s/InRelease"));
  EXPECT_FALSE(PoolIndex::may_name_packages("d/pool/main/Packages"));
  EXPECT_EQ(PoolIndex::registry_of("el9/repodata/abc-primary.xml.zst")->name, "yum");
  EXPECT_EQ(PoolIndex::registry_of("el9/repodata/abc-filelists.xml.zst"), nullptr);
  EXPECT_EQ(PoolIndex::registry_of("c/noarch/repodata.json.zst")->name, "conda");
  EXPECT_EQ(PoolIndex::registry_of("c/noarch/current_repodata.json")->name, "conda");
  EXPECT_EQ(PoolIndex::registry_of("c/noarch/x.conda"), nullptr);
}

TEST(PoolIndex, LearnsTheFilesAPackagesIndexNamesUnderItsArchiveRoot) {
  testing::TempDir dir;
  std::string hex(64, 'c');
  std::ofstream(dir.path() / "Packages")
      << "Package: a\nVersion: 1\nFilename: pool/main/a/a_1_all.deb\nSize: 10\nSHA256: " << hex
      << "\n\n";
  PoolIndex idx;
  auto n = idx.learn("deb/dists/s/main/binary-all/Packages", "v1", dir.path() / "Packages");
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(*n, 1u);
  auto f = idx.find("deb/pool/main/a/a_1_all.deb");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->size, 10u);
  EXPECT_EQ(f->digests.sha256, hex);
  EXPECT_FALSE(idx.find("pool/main/a/a_1_all.deb").has_value());
  auto again = idx.learn("deb/dists/s/main/binary-all/Packages", "v1", dir.path() / "Packages");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0u);  // this version was read already
}

TEST(PoolIndex, LearnsYumAndCondaPackages) {
  testing::TempDir dir;
  std::string hex(64, 'd');
  std::ofstream(dir.path() / "primary.xml")
      << "<?xml version=\"1.0\"?>\n<metadata xmlns=\"http://linux.duke.edu/metadata/common\" "
         "packages=\"1\"><package type=\"rpm\"><name>a</name>"
         "<checksum type=\"sha256\" pkgid=\"YES\">" << hex << "</checksum>"
         "<size package=\"42\"/><location href=\"Packages/a.rpm\"/></package></metadata>\n";
  std::ofstream(dir.path() / "repodata.json")
      << "{\"info\":{\"subdir\":\"noarch\"},\"packages\":{\"b-1-0.tar.bz2\":{\"size\":7,"
         "\"sha256\":\"" << hex << "\"}},\"packages.conda\":{}}";
  PoolIndex idx;
  auto y = idx.learn("el/repodata/x-primary.xml", "y", dir.path() / "primary.xml");
  ASSERT_TRUE(y.ok()) << y.error().message;
  EXPECT_EQ(*y, 1u);
  ASSERT_TRUE(idx.find("el/Packages/a.rpm").has_value());
  EXPECT_EQ(idx.find("el/Packages/a.rpm")->size, 42u);
  auto c = idx.learn("ch/noarch/repodata.json", "c", dir.path() / "repodata.json");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(*c, 1u);
  ASSERT_TRUE(idx.find("ch/noarch/b-1-0.tar.bz2").has_value());
  EXPECT_EQ(idx.find("ch/noarch/b-1-0.tar.bz2")->digests.sha256, hex);
}

TEST(PoolIndex, SomethingElseIsNotLearnt) {
  testing::TempDir dir;
  std::ofstream(dir.path() / "Release") << "Archive: s\nComponent: main\nArchitecture: all\n";
  PoolIndex idx;
  EXPECT_FALSE(idx.learn("dists/s/main/binary-all/by-hash/SHA256/x", "r",
                         dir.path() / "Release").ok());
  EXPECT_EQ(idx.size(), 0u);
}

TEST(PoolIndex, FilesNewToAFamilyReadBeforeAreReportedAsAdded) {
  testing::TempDir dir;
  std::string hex(64, 'c');
  auto stanza = [&](const std::string& name) {
    return "Package: " + name + "\nVersion: 1\nFilename: pool/" + name + "_1_all.deb\nSize: 10\nSHA256: " +
           hex + "\n\n";
  };
  std::ofstream(dir.path() / "v1") << stanza("a");
  std::ofstream(dir.path() / "v2") << stanza("a") << stanza("b");
  PoolIndex idx;
  NamedFiles added;
  ASSERT_TRUE(idx.learn("d/dists/s/main/binary-all/Packages", "v1", dir.path() / "v1", &added).ok());
  EXPECT_TRUE(added.empty()) << "a family's first index is a baseline";
  ASSERT_TRUE(idx.learn("d/dists/s/main/binary-all/by-hash/SHA256/" + hex, "v2", dir.path() / "v2",
                        &added)
                  .ok());
  ASSERT_EQ(added.size(), 1u);
  EXPECT_EQ(added[0].first, "d/pool/b_1_all.deb");
  EXPECT_EQ(PoolIndex::family_of("d/dists/s/main/binary-all/by-hash/SHA256/ab"),
            "d/dists/s/main/binary-all/");
  EXPECT_EQ(PoolIndex::family_of("el/repodata/x-primary.xml"), "el/repodata/");
}

}  // namespace
}  // namespace depot

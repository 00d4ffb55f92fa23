#include "serve/pool_index.h"

#include <gtest/gtest.h>

#include <fstream>

#include "support/temp_dir.h"

namespace depot {
namespace {

TEST(PoolIndex, RecognisesPackagesIndexes) {
  EXPECT_TRUE(PoolIndex::may_be_packages("d/dists/s/main/binary-amd64/Packages.xz"));
  EXPECT_TRUE(PoolIndex::may_be_packages("dists/s/main/binary-amd64/Packages"));
  EXPECT_TRUE(PoolIndex::may_be_packages("d/dists/s/main/binary-amd64/by-hash/SHA256/ab"));
  EXPECT_FALSE(PoolIndex::may_be_packages("d/dists/s/main/i18n/by-hash/SHA256/ab"));
  EXPECT_FALSE(PoolIndex::may_be_packages("d/dists/s/InRelease"));
  EXPECT_FALSE(PoolIndex::may_be_packages("d/pool/main/Packages"));
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

TEST(PoolIndex, SomethingElseIsNotLearnt) {
  testing::TempDir dir;
  std::ofstream(dir.path() / "Release") << "Archive: s\nComponent: main\nArchitecture: all\n";
  PoolIndex idx;
  EXPECT_FALSE(idx.learn("dists/s/main/binary-all/by-hash/SHA256/x", "r",
                         dir.path() / "Release").ok());
  EXPECT_EQ(idx.size(), 0u);
}

}  // namespace
}  // namespace depot

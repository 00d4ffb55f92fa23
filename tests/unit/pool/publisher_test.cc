#include "pool/publisher.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "support/pool_packages.h"
#include "support/temp_dir.h"

namespace depot::pool {
namespace {

namespace fs = std::filesystem;
using depot::testing::TempDir;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

class PublisherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = PoolStore::open(dir_.path() / "root", logger_);
    ASSERT_TRUE(s.ok()) << s.error().to_string();
    store_ = std::move(*s);
    ASSERT_TRUE(store_->create_repo("stable").ok());
    settings_.public_dir = dir_.path() / "root" / "public";
    settings_.index.write_xz = false;
  }
  int64_t add(const std::string& name, const std::string& data) {
    Package p = depot::testing::deb_record(name, "1.0", "amd64");
    p.fields.emplace_back("Description", "test");
    p.file.size = data.size();
    p.file.digests = depot::testing::all_digests(data);
    std::ofstream(dir_.path() / p.file.filename) << data;
    auto id = store_->import(p, dir_.path() / p.file.filename);
    EXPECT_TRUE(id.ok()) << id.error().to_string();
    EXPECT_TRUE(store_->change_membership("stable", {*id}, {}).ok());
    return *id;
  }
  fs::path published() const { return settings_.public_dir / "stable"; }

  TempDir dir_;
  Logger logger_{LogLevel::kError};
  std::unique_ptr<PoolStore> store_;
  PublishSettings settings_;
};

TEST_F(PublisherTest, PublishesAnAptRootThatLinksIntoThePool) {
  add("alpha", "alpha bytes");
  auto r = publish_repo(*store_, "stable", settings_);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->generation, 1u);
  EXPECT_EQ(r->packages, 1u);
  ASSERT_TRUE(fs::is_symlink(published()));
  EXPECT_EQ(fs::read_symlink(published()), fs::path(".generations/stable/1"));
  std::string packages = slurp(published() / "dists/stable/main/binary-amd64/Packages");
  EXPECT_NE(packages.find("Filename: pool/main/a/alpha/alpha_1.0_amd64.deb"), std::string::npos);
  EXPECT_NE(slurp(published() / "dists/stable/Release").find("Suite: stable"), std::string::npos);
  struct stat a {}, b {};
  ASSERT_EQ(::stat((published() / "pool/main/a/alpha/alpha_1.0_amd64.deb").c_str(), &a), 0);
  auto stored = store_->list("stable");
  ASSERT_EQ(::stat(store_->blob_path(stored->at(0).package.file.digests.sha256).c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);  // a hard link, not a copy
}

TEST_F(PublisherTest, OlderGenerationsStayReachableForTheGracePeriod) {
  int64_t alpha = add("alpha", "alpha bytes");
  ASSERT_TRUE(publish_repo(*store_, "stable", settings_).ok());
  std::string old_by_hash;
  for (const auto& e : fs::recursive_directory_iterator(published() / "dists")) {
    if (e.path().string().find("/by-hash/SHA256/") != std::string::npos) {
      old_by_hash = e.path().lexically_relative(fs::canonical(published())).string();
    }
  }
  ASSERT_FALSE(old_by_hash.empty());
  ASSERT_TRUE(store_->change_membership("stable", {}, {alpha}).ok());
  add("beta", "beta bytes");
  auto r = publish_repo(*store_, "stable", settings_);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->generation, 2u);
  EXPECT_GE(r->carried_files, 2u);
  // A client holding generation 1's InRelease still finds its Packages and its .deb.
  EXPECT_TRUE(fs::exists(published() / old_by_hash));
  EXPECT_TRUE(fs::exists(published() / "pool/main/a/alpha/alpha_1.0_amd64.deb"));
  EXPECT_EQ(slurp(published() / "dists/stable/main/binary-amd64/Packages").find("alpha"),
            std::string::npos);
  // Without a grace period they go, and so does generation 1.
  settings_.grace = std::chrono::seconds(0);
  auto r3 = publish_repo(*store_, "stable", settings_);
  ASSERT_TRUE(r3.ok());
  EXPECT_FALSE(fs::exists(published() / "pool/main/a/alpha/alpha_1.0_amd64.deb"));
  EXPECT_FALSE(fs::exists(settings_.public_dir / ".generations/stable/1"));
  EXPECT_FALSE(fs::exists(settings_.public_dir / ".generations/stable/2"));
  EXPECT_TRUE(fs::exists(published() / "pool/main/b/beta/beta_1.0_amd64.deb"));
}

TEST_F(PublisherTest, AFailedPublishLeavesTheCurrentOneUntouched) {
  add("alpha", "alpha bytes");
  ASSERT_TRUE(publish_repo(*store_, "stable", settings_).ok());
  std::string release = slurp(published() / "dists/stable/Release");
  add("beta", "beta bytes");
  settings_.index.signing = SigningKey{dir_.path() / "no-such-gnupg-home", "NOKEY"};
  auto r = publish_repo(*store_, "stable", settings_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(fs::read_symlink(published()), fs::path(".generations/stable/1"));
  EXPECT_EQ(slurp(published() / "dists/stable/Release"), release);
  EXPECT_FALSE(fs::exists(settings_.public_dir / ".generations/stable/2"));
}

TEST_F(PublisherTest, ARealDirectoryInTheWayIsNotReplaced) {
  fs::create_directories(published() / "dists");
  auto r = publish_repo(*store_, "stable", settings_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kRefused);
  EXPECT_TRUE(fs::is_directory(published() / "dists"));
}

}  // namespace
}  // namespace depot::pool

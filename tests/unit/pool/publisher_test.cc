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
  int64_t add(const std::string& name, const std::string& data,
              const std::string& version = "1.0", const std::string& filename = "") {
    Package p = depot::testing::deb_record(name, version, "amd64");
    if (!filename.empty()) p.file.filename = filename;
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

ino_t inode(const fs::path& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 ? st.st_ino : 0;
}

TEST_F(PublisherTest, GenerationsSharePoolLinksAndLinkOnlyWhatIsNew) {
  add("alpha", "alpha bytes");
  auto r1 = publish_repo(*store_, "stable", settings_);
  ASSERT_TRUE(r1.ok()) << r1.error().to_string();
  EXPECT_EQ(r1->pool_links, 1u);
  add("beta", "beta bytes");
  auto r2 = publish_repo(*store_, "stable", settings_);
  ASSERT_TRUE(r2.ok()) << r2.error().to_string();
  EXPECT_EQ(r2->pool_links, 1u);  // beta only
  const fs::path gens = settings_.public_dir / ".generations/stable";
  EXPECT_TRUE(fs::is_symlink(gens / "1/pool"));
  EXPECT_TRUE(fs::is_symlink(gens / "2/pool"));
  const auto stored = store_->list("stable");
  ASSERT_TRUE(stored.ok());
  for (const auto& sp : *stored) {
    const fs::path in_pool = published() / pool_path(sp.package, "main");
    EXPECT_EQ(inode(in_pool), inode(store_->blob_path(sp.package.file.digests.sha256)));
  }
  EXPECT_NE(slurp(gens / "2.files").find("pool/main/b/beta/beta_1.0_amd64.deb"),
            std::string::npos);
}

TEST_F(PublisherTest, UploadedFileNamesDoNotDecidePoolPaths) {
  int64_t first = add("alpha", "first bytes", "1.0", "app.deb");
  ASSERT_TRUE(publish_repo(*store_, "stable", settings_).ok());
  ASSERT_TRUE(store_->change_membership("stable", {}, {first}).ok());
  add("alpha", "second bytes", "1:1.1", "app.deb");
  auto r = publish_repo(*store_, "stable", settings_);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  std::string packages = slurp(published() / "dists/stable/main/binary-amd64/Packages");
  EXPECT_NE(packages.find("Filename: pool/main/a/alpha/alpha_1.1_amd64.deb\n"), std::string::npos);
  EXPECT_EQ(slurp(published() / "pool/main/a/alpha/alpha_1.1_amd64.deb"), "second bytes");
  // Generation 1's file, for its clients during the grace period.
  EXPECT_EQ(slurp(published() / "pool/main/a/alpha/alpha_1.0_amd64.deb"), "first bytes");
}

TEST_F(PublisherTest, APoolFileStillServedIsNeverReplacedWithOtherContent) {
  add("beta", "beta bytes");
  int64_t first = add("alpha", "first bytes");
  ASSERT_TRUE(publish_repo(*store_, "stable", settings_).ok());
  ASSERT_TRUE(store_->change_membership("stable", {}, {first}).ok());
  ASSERT_TRUE(publish_repo(*store_, "stable", settings_).ok());
  ASSERT_TRUE(store_->gc().ok());  // the row and the pool file go; generation 1 is in grace
  add("alpha", "other bytes");     // the same name, version and architecture, other content
  auto r = publish_repo(*store_, "stable", settings_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kRefused);
  EXPECT_NE(r.error().message.find("alpha_1.0_amd64.deb"), std::string::npos)
      << r.error().message;
  EXPECT_EQ(fs::read_symlink(published()), fs::path(".generations/stable/2"));
  EXPECT_EQ(slurp(published() / "pool/main/a/alpha/alpha_1.0_amd64.deb"), "first bytes");
  // Once no generation in use names it, the file is replaced.
  settings_.grace = std::chrono::seconds(0);
  r = publish_repo(*store_, "stable", settings_);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(slurp(published() / "pool/main/a/alpha/alpha_1.0_amd64.deb"), "other bytes");
}

TEST_F(PublisherTest, AStrayFileAtAPoolPathIsReplaced) {
  const fs::path stray =
      settings_.public_dir / ".generations/stable/pool/main/a/alpha/alpha_1.0_amd64.deb";
  fs::create_directories(stray.parent_path());
  std::ofstream(stray) << "stray";
  add("alpha", "alpha bytes");
  auto r = publish_repo(*store_, "stable", settings_);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(slurp(published() / "pool/main/a/alpha/alpha_1.0_amd64.deb"), "alpha bytes");
}

TEST_F(PublisherTest, AGenerationWithItsOwnPoolDirectoryIsCarriedIntoTheSharedPool) {
  int64_t alpha = add("alpha", "alpha bytes");
  ASSERT_TRUE(publish_repo(*store_, "stable", settings_).ok());
  // Make generation 1 look like one written before the shared pool.
  const fs::path gens = settings_.public_dir / ".generations/stable";
  const std::string rel = "main/a/alpha/alpha_1.0_amd64.deb";
  fs::remove(gens / "1/pool");
  fs::create_directories((gens / "1/pool" / rel).parent_path());
  fs::create_hard_link(gens / "pool" / rel, gens / "1/pool" / rel);
  fs::remove(gens / "pool" / rel);
  fs::remove(gens / "1.files");
  ASSERT_TRUE(store_->change_membership("stable", {}, {alpha}).ok());
  add("beta", "beta bytes");
  auto r = publish_repo(*store_, "stable", settings_);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(slurp(published() / "pool" / rel), "alpha bytes");  // for generation 1's clients
  settings_.grace = std::chrono::seconds(0);
  ASSERT_TRUE(publish_repo(*store_, "stable", settings_).ok());
  EXPECT_FALSE(fs::exists(gens / "pool" / rel));
  EXPECT_FALSE(fs::exists(gens / "1"));
}

TEST_F(PublisherTest, AGenerationACrashLeftIsRemovedNotCarried) {
  add("alpha", "alpha bytes");
  ASSERT_TRUE(publish_repo(*store_, "stable", settings_).ok());
  // What a kill during the next publication leaves: a half-written generation 2 (a torn
  // by-hash file) and a link it made into the shared pool.
  const fs::path gens = settings_.public_dir / ".generations/stable";
  const fs::path torn = gens / "2/dists/stable/main/binary-amd64/by-hash/SHA256/0123abcd";
  fs::create_directories(torn.parent_path());
  std::ofstream(torn) << "torn";
  fs::create_directories(gens / "pool/main/z/zeta");
  std::ofstream(gens / "pool/main/z/zeta/zeta_1.0_amd64.deb") << "stray";
  add("beta", "beta bytes");
  auto r = publish_repo(*store_, "stable", settings_);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->generation, 2u);
  EXPECT_GE(r->generations_removed, 1u);
  EXPECT_FALSE(fs::exists(published() / "dists/stable/main/binary-amd64/by-hash/SHA256/0123abcd"));
  EXPECT_FALSE(fs::exists(gens / "pool/main/z/zeta/zeta_1.0_amd64.deb"));
  EXPECT_EQ(slurp(published() / "pool/main/a/alpha/alpha_1.0_amd64.deb"), "alpha bytes");
  EXPECT_EQ(slurp(published() / "pool/main/b/beta/beta_1.0_amd64.deb"), "beta bytes");
}

TEST_F(PublisherTest, IndexesOfConsecutivePublicationsNeverShareAModificationSecond) {
  add("alpha", "alpha bytes");
  time_t last = 0;
  for (int i = 0; i < 3; ++i) {  // well within one second
    if (i > 0) add("beta" + std::to_string(i), "beta bytes " + std::to_string(i));
    ASSERT_TRUE(publish_repo(*store_, "stable", settings_).ok());
    struct stat st {};
    for (const char* f : {"dists/stable/Release", "dists/stable/main/binary-amd64/Packages.gz"}) {
      ASSERT_EQ(::stat((published() / f).c_str(), &st), 0);
      EXPECT_GT(st.st_mtim.tv_sec, last) << f << " of publication " << i;
      EXPECT_EQ(st.st_mtim.tv_nsec, 0);
    }
    last = st.st_mtim.tv_sec;
  }
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

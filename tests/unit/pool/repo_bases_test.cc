#include <gtest/gtest.h>

#include "db/sqlite.h"
#include "pool/pool_store.h"
#include "support/temp_dir.h"

namespace depot::pool {
namespace {

using depot::testing::TempDir;

class RepoBasesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = PoolStore::open(dir_.path() / "root", logger_);
    ASSERT_TRUE(s.ok()) << s.error().to_string();
    store_ = std::move(*s);
  }
  TempDir dir_;
  Logger logger_{LogLevel::kError};
  std::unique_ptr<PoolStore> store_;
};

TEST_F(RepoBasesTest, StoredWithTheRepositoryInOrderAndReplaceable) {
  std::vector<BaseSpec> bases{{"/srv/mirror/debian", "bookworm", {"main", "contrib"}},
                              {"http://deb.example/debian/", "bookworm-updates", {"main"}}};
  ASSERT_TRUE(store_->create_repo("internal", bases).ok());
  ASSERT_TRUE(store_->create_repo("plain").ok());
  auto got = store_->bases("internal");
  ASSERT_TRUE(got.ok()) << got.error().to_string();
  EXPECT_EQ(*got, bases);
  EXPECT_TRUE(store_->bases("plain")->empty());
  EXPECT_EQ(store_->bases("nope").error().code, ErrorCode::kNotFound);

  ASSERT_TRUE(store_->set_bases("plain", {bases[1]}).ok());
  EXPECT_EQ(*store_->bases("plain"), std::vector<BaseSpec>{bases[1]});
  ASSERT_TRUE(store_->set_bases("internal", {}).ok());
  EXPECT_TRUE(store_->bases("internal")->empty());
  EXPECT_EQ(store_->set_bases("nope", {}).error().code, ErrorCode::kNotFound);

  // Reopened: still there (the schema is v4).
  store_.reset();
  auto s = PoolStore::open(dir_.path() / "root", logger_);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*(*s)->bases("plain"), std::vector<BaseSpec>{bases[1]});
}

TEST_F(RepoBasesTest, InvalidBasesAreRefusedAndNothingIsCreated) {
  for (const BaseSpec& b : std::vector<BaseSpec>{{"", "bookworm", {"main"}},
                                                 {"relative/dir", "bookworm", {"main"}},
                                                 {"ftp://x/", "bookworm", {"main"}},
                                                 {"/srv/m", "", {"main"}},
                                                 {"/srv/m", "../etc", {"main"}},
                                                 {"/srv/m", "bookworm", {}},
                                                 {"/srv/m", "bookworm", {"ma in"}}}) {
    Status st = store_->create_repo("r", {b});
    ASSERT_FALSE(st.ok()) << b.to_string();
    EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(st.error().message.find("base "), std::string::npos) << st.error().message;
  }
  EXPECT_TRUE(store_->repos()->empty());
}

}  // namespace
}  // namespace depot::pool

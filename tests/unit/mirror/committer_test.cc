#include "mirror/committer.h"

#include <gtest/gtest.h>

#include <fstream>

#include "support/temp_dir.h"

namespace depot {
namespace {

namespace fs = std::filesystem;

class CommitterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    target_ = std::move(open_fs_target(dir_.path()).value());
    db_.emplace(std::move(StateDb::open(dir_.path() / ".depot/state.db").value()));
  }

  // A closed transaction holding `content` for `path`, with its record.
  std::pair<std::unique_ptr<WriteTxn>, FileRecord> file(const std::string& path,
                                                        const std::string& content) {
    auto txn = std::move(target_->begin_write(*RelPath::parse(path)).value());
    EXPECT_TRUE(txn->write(std::as_bytes(std::span(content.data(), content.size()))).ok());
    EXPECT_TRUE(txn->close().ok());
    FileRecord r;
    r.path = path;
    r.size = content.size();
    return {std::move(txn), r};
  }

  void submit(BatchCommitter& c, const std::vector<std::string>& paths) {
    std::vector<std::unique_ptr<WriteTxn>> txns;
    std::vector<FileRecord> records;
    for (const auto& p : paths) {
      auto [t, r] = file(p, "content of " + p);
      txns.push_back(std::move(t));
      records.push_back(r);
    }
    c.submit(std::move(txns), std::move(records));
  }

  testing::TempDir dir_;
  std::unique_ptr<Target> target_;
  std::optional<StateDb> db_;
};

TEST_F(CommitterTest, CommitsEveryBatchWithRecords) {
  {
    BatchCommitter c(*target_, *db_, null_logger(), /*max_queued=*/1);
    for (int b = 0; b < 10; ++b) {
      submit(c, {"d" + std::to_string(b) + "/x", "d" + std::to_string(b) + "/y"});
    }
    ASSERT_TRUE(c.drain().ok());
    EXPECT_EQ(c.committed_files(), 20u);
  }
  for (int b = 0; b < 10; ++b) EXPECT_TRUE(fs::exists(dir_.path() / ("d" + std::to_string(b)) / "y"));
  EXPECT_EQ(db_->load_files()->size(), 20u);
  EXPECT_TRUE(fs::is_empty(dir_.path() / ".depot/tmp"));
}

TEST_F(CommitterTest, FirstFailureStopsLaterBatchesAndIsReported) {
  { std::ofstream(dir_.path() / "blocker") << "a file where a directory is needed"; }
  BatchCommitter c(*target_, *db_, null_logger());
  submit(c, {"ok/1"});
  ASSERT_TRUE(c.drain().ok());
  submit(c, {"blocker/2"});
  submit(c, {"later/3"});
  Status s = c.drain();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("blocker"), std::string::npos) << s.error().message;
  EXPECT_FALSE(fs::exists(dir_.path() / "later"));
  EXPECT_TRUE(fs::is_empty(dir_.path() / ".depot/tmp"));  // dropped batches leave nothing
  EXPECT_EQ(db_->load_files()->size(), 1u);
}

}  // namespace
}  // namespace depot

#include "mirror/committer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "storage/fs/fs_target.h"
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
    for (const auto& p : paths) {
      auto [t, r] = file(p, "content of " + p);
      c.add(std::move(t), r);
    }
    c.flush();
  }

  testing::TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<Target> target_;
  std::optional<StateDb> db_;
};

TEST_F(CommitterTest, CommitsEveryBatchWithRecords) {
  {
    BatchCommitter c(*target_, *db_, null_logger(), clock_, BatchLimits{.max_queued = 1});
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
  BatchCommitter c(*target_, *db_, null_logger(), clock_);
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

TEST_F(CommitterTest, BatchClosesAtFileLimitOrInterval) {
  BatchCommitter c(*target_, *db_, null_logger(), clock_,
                   BatchLimits{2, 1ull << 30, std::chrono::milliseconds(1000)});
  auto [t1, r1] = file("a", "1");
  c.add(std::move(t1), r1);
  auto [t2, r2] = file("b", "2");
  c.add(std::move(t2), r2);  // second file: the batch is full and commits
  auto [t3, r3] = file("c", "3");
  c.add(std::move(t3), r3);
  for (int i = 0; i < 200 && c.committed_files() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(c.committed_files(), 2u);
  EXPECT_FALSE(fs::exists(dir_.path() / "c"));  // still in the open batch
  clock_.advance(std::chrono::milliseconds(1500));
  auto [t4, r4] = file("d", "4");
  c.add(std::move(t4), r4);  // the open batch is older than the interval: it commits
  for (int i = 0; i < 200 && c.committed_files() < 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(c.committed_files(), 4u);
  FileRecord only;
  only.path = "record-only";
  only.size = 1;
  c.add(nullptr, only);
  ASSERT_TRUE(c.drain().ok());
  EXPECT_EQ(db_->load_files()->size(), 5u);
}

}  // namespace
}  // namespace depot

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>

#include "storage/fs/fs_target.h"
#include "support/temp_dir.h"

namespace depot {
namespace {

namespace fs = std::filesystem;

RelPath P(const char* s) { return *RelPath::parse(s); }

std::string read(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

Status write_str(WriteTxn& t, std::string_view s) {
  return t.write(std::as_bytes(std::span(s.data(), s.size())));
}

// Commits one transaction (taken out of its Result).
Status commit_one(Target& target, Result<std::unique_ptr<WriteTxn>>& txn) {
  std::vector<std::unique_ptr<WriteTxn>> batch;
  batch.push_back(std::move(txn).value());
  return target.commit(batch);
}

// The one temporary file in `root`'s .depot/tmp.
fs::path only_temp(const fs::path& root) {
  std::vector<fs::path> files;
  for (auto& e : fs::directory_iterator(root / ".depot/tmp")) files.push_back(e.path());
  EXPECT_EQ(files.size(), 1u);
  return files.empty() ? fs::path() : files[0];
}

std::string read_source(Result<std::unique_ptr<ByteSource>> in) {
  if (!in.ok()) return "error: " + in.error().message;
  auto all = read_all(**in, "test");
  return all.ok() ? *all : "error: " + all.error().message;
}

size_t count_files(const fs::path& dir) {
  size_t n = 0;
  for (auto& e : fs::recursive_directory_iterator(dir)) n += e.is_regular_file();
  return n;
}

class FsTargetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto target = open_fs_target(dir_.path());
    ASSERT_TRUE(target.ok()) << target.error().message;
    target_ = std::move(target).value();
  }
  testing::TempDir dir_;
  std::unique_ptr<Target> target_;
};

TEST_F(FsTargetTest, InvisibleUntilCommitThenAtomic) {
  auto txn = target_->begin_write(P("a/b/c.txt"), WriteHints{.readable = true});
  ASSERT_TRUE(txn.ok());
  ASSERT_TRUE(write_str(**txn, "hello").ok());
  ASSERT_TRUE((*txn)->close().ok());
  EXPECT_FALSE(fs::exists(dir_.path() / "a/b/c.txt"));
  EXPECT_EQ(read_source((*txn)->open_read()), "hello");
  EXPECT_EQ(read(only_temp(dir_.path())), "hello");
  EXPECT_EQ(target_->open_read(P("a/b/c.txt")).error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(commit_one(*target_, txn).ok());
  EXPECT_EQ(read_source(target_->open_read(P("a/b/c.txt"))), "hello");
  EXPECT_EQ(read(dir_.path() / "a/b/c.txt"), "hello");
  EXPECT_TRUE(fs::is_empty(dir_.path() / ".depot/tmp"));
  auto st = target_->stat(P("a/b/c.txt"));
  ASSERT_TRUE(st.ok() && st->has_value());
  EXPECT_EQ((*st)->size, 5u);
}

TEST_F(FsTargetTest, ModificationTimeIsTheCommitTime) {
  // Written long before it is published (an index fetched at the start of a run).
  auto txn = target_->begin_write(P("dists/s/InRelease"));
  ASSERT_TRUE(txn.ok());
  ASSERT_TRUE(write_str(**txn, "root").ok());
  ASSERT_TRUE((*txn)->close().ok());
  const auto old = fs::file_time_type::clock::now() - std::chrono::hours(1);
  fs::last_write_time(only_temp(dir_.path()), old);
  const auto before = fs::file_time_type::clock::now() - std::chrono::seconds(1);
  ASSERT_TRUE(commit_one(*target_, txn).ok());
  EXPECT_GE(fs::last_write_time(dir_.path() / "dists/s/InRelease"), before);
}

TEST_F(FsTargetTest, DroppedTransactionLeavesNothing) {
  {
    auto txn = target_->begin_write(P("x.bin"));
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(write_str(**txn, "partial").ok());
  }
  EXPECT_EQ(count_files(dir_.path()), 0u);
}

TEST_F(FsTargetTest, ResetDiscardsBytes) {
  auto txn = target_->begin_write(P("x.bin"));
  ASSERT_TRUE(write_str(**txn, "garbage-garbage").ok());
  ASSERT_TRUE((*txn)->reset().ok());
  ASSERT_TRUE(write_str(**txn, "ok").ok());
  EXPECT_EQ((*txn)->bytes_written(), 2u);
  ASSERT_TRUE((*txn)->close().ok());
  ASSERT_TRUE(commit_one(*target_, txn).ok());
  EXPECT_EQ(read(dir_.path() / "x.bin"), "ok");
}

TEST_F(FsTargetTest, AlignedBlocksThenTailThenReset) {
  auto txn = target_->begin_write(P("big.bin"));
  ASSERT_TRUE(txn.ok());
  auto* block = static_cast<std::byte*>(std::aligned_alloc(kDirectAlignment, 2 * kDirectAlignment));
  std::memset(block, 'A', 2 * kDirectAlignment);
  std::span<const std::byte> aligned(block, 2 * kDirectAlignment);
  ASSERT_TRUE((*txn)->write_aligned(aligned).ok());
  ASSERT_TRUE((*txn)->write_aligned(aligned).ok());
  ASSERT_TRUE(write_str(**txn, "tail").ok());
  EXPECT_EQ((*txn)->bytes_written(), 4 * kDirectAlignment + 4);
  ASSERT_TRUE((*txn)->reset().ok());  // a retry starts over, direct path included
  ASSERT_TRUE((*txn)->write_aligned(aligned).ok());
  ASSERT_TRUE(write_str(**txn, "end").ok());
  ASSERT_TRUE((*txn)->close().ok());
  ASSERT_TRUE(commit_one(*target_, txn).ok());
  std::free(block);
  EXPECT_EQ(read(dir_.path() / "big.bin"), std::string(2 * kDirectAlignment, 'A') + "end");
}

TEST_F(FsTargetTest, CommitReplacesExistingFile) {
  { std::ofstream(dir_.path() / "r.json") << "old"; }
  auto txn = target_->begin_write(P("r.json"));
  ASSERT_TRUE(write_str(**txn, "new").ok());
  ASSERT_TRUE((*txn)->close().ok());
  ASSERT_TRUE(commit_one(*target_, txn).ok());
  EXPECT_EQ(read(dir_.path() / "r.json"), "new");
}

// One batch over neighbouring, nested, unrelated and repeated directories, new and existing,
// right after a walk that created one and after one that did not (the commit keeps the
// previous file's directories open, walks only what differs, and after a creation creates
// before it looks up).
TEST_F(FsTargetTest, BatchCommitsAcrossDirectories) {
  const char* paths[] = {
      "pool/main/a/x/1.deb", "pool/main/a/y/2.deb",  "pool/main/b/z/3.deb", "top.txt",
      "pool/main/a/x/4.deb", "pool/main/a/x/deep/5", "pool/main/b/z/6",     "pool/main/a/7",
      "pool2/main/a/x/8"};
  std::vector<std::unique_ptr<WriteTxn>> batch;
  for (const char* p : paths) {
    auto txn = target_->begin_write(P(p));
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(write_str(**txn, p).ok());
    ASSERT_TRUE((*txn)->close().ok());
    batch.push_back(std::move(txn).value());
  }
  ASSERT_TRUE(target_->commit(batch).ok());
  for (const char* p : paths) EXPECT_EQ(read(dir_.path() / p), p);
  EXPECT_TRUE(fs::is_empty(dir_.path() / ".depot/tmp"));
}

// A symlink in the middle of a batch is refused like one in a single commit, also when the
// previous file's directories are still open.
TEST_F(FsTargetTest, SymlinkInABatchIsRefused) {
  testing::TempDir outside;
  fs::create_directories(dir_.path() / "pool/main");
  fs::create_directory_symlink(outside.path(), dir_.path() / "pool/main/evil");
  std::vector<std::unique_ptr<WriteTxn>> batch;
  for (const char* p : {"pool/main/ok/1", "pool/main/evil/2"}) {
    auto txn = target_->begin_write(P(p));
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE((*txn)->close().ok());
    batch.push_back(std::move(txn).value());
  }
  auto s = target_->commit(batch);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kUnsafePath);
  EXPECT_TRUE(fs::is_empty(outside.path()));
}

TEST_F(FsTargetTest, SymlinkedDirectoryCannotRedirectWrites) {
  testing::TempDir outside;
  fs::create_directory_symlink(outside.path(), dir_.path() / "evil");
  auto txn = target_->begin_write(P("evil/owned.txt"));
  ASSERT_TRUE(txn.ok());
  ASSERT_TRUE(write_str(**txn, "x").ok());
  ASSERT_TRUE((*txn)->close().ok());
  auto s = commit_one(*target_, txn);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kUnsafePath);
  EXPECT_FALSE(fs::exists(outside.path() / "owned.txt"));
  // Removal through the symlink is refused as well.
  { std::ofstream(outside.path() / "keep.txt") << "k"; }
  EXPECT_FALSE(target_->remove(P("evil/keep.txt")).ok());
  EXPECT_TRUE(fs::exists(outside.path() / "keep.txt"));
}

TEST_F(FsTargetTest, RemovePrunesEmptyParentsAndListSkipsState) {
  fs::create_directories(dir_.path() / "a/b");
  { std::ofstream(dir_.path() / "a/b/one") << "1"; }
  { std::ofstream(dir_.path() / "top") << "2"; }
  { std::ofstream(dir_.path() / ".depot/state.db") << "s"; }
  std::set<std::string> listed;
  ASSERT_TRUE(target_->list([&](const RelPath& p, const FileStat&) { listed.insert(p.str()); }).ok());
  EXPECT_EQ(listed, (std::set<std::string>{"a/b/one", "top"}));
  ASSERT_TRUE(target_->remove(P("a/b/one")).ok());
  EXPECT_FALSE(fs::exists(dir_.path() / "a"));
  EXPECT_TRUE(target_->remove(P("missing/file")).ok());
}

TEST_F(FsTargetTest, ClearDebrisRemovesTemporaries) {
  auto txn = target_->begin_write(P("x"));
  ASSERT_TRUE(write_str(**txn, "debris").ok());
  ASSERT_TRUE((*txn)->close().ok());
  auto temp = only_temp(dir_.path());
  ASSERT_TRUE(fs::exists(temp));
  ASSERT_TRUE(target_->clear_debris().ok());
  EXPECT_FALSE(fs::exists(temp));
}

TEST_F(FsTargetTest, OpenReadNamesTheMissingFile) {
  auto in = target_->open_read(P("dists/s/Release"));
  ASSERT_FALSE(in.ok());
  EXPECT_EQ(in.error().code, ErrorCode::kNotFound);
  EXPECT_NE(in.error().message.find("dists/s/Release"), std::string::npos) << in.error().message;
}

TEST_F(FsTargetTest, ReadableTransactionReadsFromItsFirstByteEachTime) {
  auto txn = target_->begin_write(P("p"), WriteHints{.readable = true});
  ASSERT_TRUE(txn.ok());
  ASSERT_TRUE(write_str(**txn, "first").ok());
  ASSERT_TRUE((*txn)->reset().ok());
  ASSERT_TRUE(write_str(**txn, "second").ok());
  ASSERT_TRUE((*txn)->close().ok());
  EXPECT_EQ(read_source((*txn)->open_read()), "second");
  EXPECT_EQ(read_source((*txn)->open_read()), "second");
}

}  // namespace
}  // namespace depot

#include "serve/node_tree.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "support/temp_dir.h"

namespace depot {
namespace {

namespace fs = std::filesystem;

class NodeTree : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.path() / "root";
    fs::create_directories(root_);
    root_fd_.reset(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(root_fd_.valid());
  }
  void write(const fs::path& rel, std::string_view body) {
    fs::create_directories((root_ / rel).parent_path());
    std::ofstream(root_ / rel, std::ios::binary) << body;
  }
  testing::TempDir dir_;
  fs::path root_;
  UniqueFd root_fd_;
};

TEST_F(NodeTree, OpensAndCreatesDirectories) {
  EXPECT_EQ(open_dir_beneath(root_fd_.get(), "a/b", false).error().code, ErrorCode::kNotFound);
  auto d = open_dir_beneath(root_fd_.get(), "a/b/c", true);
  ASSERT_TRUE(d.ok()) << d.error().to_string();
  EXPECT_TRUE(fs::is_directory(root_ / "a/b/c"));
  EXPECT_TRUE(open_dir_beneath(root_fd_.get(), "a/b", false).ok());
  EXPECT_TRUE(open_dir_beneath(root_fd_.get(), "", false).ok());
}

TEST_F(NodeTree, NeverFollowsSymlinksOrFiles) {
  fs::create_directories(dir_.path() / "outside");
  fs::create_directory_symlink(dir_.path() / "outside", root_ / "link");
  write("file", "x");
  for (const char* rel : {"link", "link/sub", "file/sub"}) {
    auto d = open_dir_beneath(root_fd_.get(), rel, true);
    ASSERT_FALSE(d.ok()) << rel;
    EXPECT_EQ(d.error().code, ErrorCode::kUnsafePath) << rel;
    EXPECT_NE(d.error().message.find("in the way"), std::string::npos);
  }
  EXPECT_TRUE(fs::is_empty(dir_.path() / "outside"));
}

TEST_F(NodeTree, PrunesEmptyDirectoriesOnly) {
  write("a/keep.txt", "k");
  fs::create_directories(root_ / "a/b/c");
  prune_empty_dirs(root_fd_.get(), "a/b/c");
  EXPECT_FALSE(fs::exists(root_ / "a/b"));
  EXPECT_TRUE(fs::exists(root_ / "a/keep.txt"));
  prune_empty_dirs(root_fd_.get(), "missing/dir");  // nothing there: no effect
  EXPECT_TRUE(fs::exists(root_));
}

TEST_F(NodeTree, WalkReportsRegularFilesAndSkips) {
  write("a.txt", "1");
  write("d/b.txt", "22");
  write("hidden/c.txt", "333");
  fs::create_symlink(root_ / "a.txt", root_ / "d/link");
  ::mkfifo((root_ / "fifo").c_str(), 0644);
  std::map<std::string, uint64_t> seen;
  uint64_t skipped = 0;
  auto keep = [](std::string_view rel, bool) { return rel != "hidden"; };
  Status st = walk_tree(
      root_fd_.get(), keep,
      [&](const std::string& rel, int dir_fd, const char* name, const struct stat& s) -> Status {
        EXPECT_GE(dir_fd, 0);
        EXPECT_EQ(rel.substr(rel.rfind('/') + 1), name);
        seen[rel] = static_cast<uint64_t>(s.st_size);
        return ok_status();
      },
      &skipped);
  ASSERT_TRUE(st.ok()) << st.error().to_string();
  EXPECT_EQ(seen, (std::map<std::string, uint64_t>{{"a.txt", 1}, {"d/b.txt", 2}}));
  EXPECT_EQ(skipped, 2u);  // the symlink and the fifo
}

TEST_F(NodeTree, WalkStopsOnVisitorError) {
  write("a", "1");
  Status st = walk_tree(
      root_fd_.get(), [](std::string_view, bool) { return true; },
      [](const std::string&, int, const char*, const struct stat&) -> Status {
        return make_error(ErrorCode::kIo, "stop");
      },
      nullptr);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "stop");
}

TEST_F(NodeTree, Sha256OfFd) {
  write("f", "abc");
  UniqueFd fd(::open((root_ / "f").c_str(), O_RDONLY | O_CLOEXEC));
  uint64_t bytes = 0;
  auto h = sha256_of_fd(fd.get(), "f", &bytes);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(*h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(bytes, 3u);
}

}  // namespace
}  // namespace depot

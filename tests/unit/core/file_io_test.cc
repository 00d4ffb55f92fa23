#include "core/file_io.h"

#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace depot {
namespace {

TEST(FileIo, WholeFileRoundTripAndCap) {
  testing::TempDir dir;
  ASSERT_TRUE(write_whole_file(dir.path() / "f", "hello").ok());
  auto back = read_whole_file(dir.path() / "f", "f");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, "hello");
  EXPECT_FALSE(read_whole_file(dir.path() / "f", "f", 4).ok());
}

TEST(FileIo, DirectorySyncsNameTheDirectoryOnFailure) {
  testing::TempDir dir;
  EXPECT_TRUE(fsync_directory(dir.path()).ok());
  EXPECT_TRUE(sync_filesystem(dir.path()).ok());
  Status st = fsync_directory(dir.path() / "missing");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kIo);
  EXPECT_NE(st.error().message.find("missing: fsync:"), std::string::npos);
  EXPECT_FALSE(sync_filesystem(dir.path() / "missing").ok());
}

TEST(FileIo, AtomicWriteReplacesAndLeavesNoTemporary) {
  testing::TempDir dir;
  auto f = dir.path() / "f";
  ASSERT_TRUE(write_file_atomic(f, "one").ok());
  ASSERT_TRUE(write_file_atomic(f, "two", ".new").ok());
  EXPECT_EQ(*read_whole_file(f, "f"), "two");
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "f.tmp"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "f.new"));
}

TEST(FileIo, AtomicWriteNamesTheFileAndStepOnFailure) {
  testing::TempDir dir;
  Status st = write_file_atomic(dir.path() / "missing" / "f", "x");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kIo);
  EXPECT_NE(st.error().message.find("missing/f.tmp: open:"), std::string::npos);
  std::filesystem::create_directory(dir.path() / "d");
  std::filesystem::create_directory(dir.path() / "d" / "sub");
  st = write_file_atomic(dir.path() / "d", "x");  // rename of a file over a directory
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("d: rename:"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "d.tmp"));
}

}  // namespace
}  // namespace depot

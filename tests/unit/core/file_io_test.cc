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

}  // namespace
}  // namespace depot

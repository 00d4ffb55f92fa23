#include "core/byte_source.h"

#include <gtest/gtest.h>

#include <fcntl.h>

#include <fstream>

#include "support/temp_dir.h"

namespace depot {
namespace {

std::unique_ptr<ByteSource> mem(std::string s) {
  return memory_source(std::make_shared<const std::string>(std::move(s)));
}

TEST(ByteSource, MemorySourceReadsInPiecesThenEnds) {
  auto in = mem("abcdefg");
  std::byte buf[3];
  std::string got;
  for (;;) {
    auto n = in->read(buf);
    ASSERT_TRUE(n.ok());
    if (*n == 0) break;
    got.append(reinterpret_cast<const char*>(buf), *n);
  }
  EXPECT_EQ(got, "abcdefg");
}

TEST(ByteSource, ReadAllRefusesMoreThanTheCapNamingTheSource) {
  auto small = mem("12345");
  EXPECT_EQ(*read_all(*small, "x"), "12345");
  auto big = mem(std::string(100, 'x'));
  auto r = read_all(*big, "http://u/Packages", 99);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kParse);
  EXPECT_NE(r.error().message.find("http://u/Packages"), std::string::npos) << r.error().message;
}

TEST(ByteSource, HashSourceGivesDigestsAndSize) {
  auto in = mem("abc");
  auto h = hash_source(*in, digest_bit(DigestAlgo::kSha256) | digest_bit(DigestAlgo::kMd5));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->second, 3u);
  EXPECT_EQ(h->first.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(h->first.md5, "900150983cd24fb0d6963f7d28e17f72");
}

TEST(ByteSource, ChunkCallbackErrorStopsTheWalk) {
  auto in = mem(std::string(200000, 'z'));
  int calls = 0;
  Status s = for_each_chunk(*in, [&](std::string_view) -> Status {
    ++calls;
    return make_error(ErrorCode::kParse, "stop");
  });
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(calls, 1);
}

TEST(ByteSource, FileSourceReadsTheFileAndNamesAMissingOne) {
  testing::TempDir dir;
  { std::ofstream(dir.path() / "f") << "file body"; }
  auto in = open_file_source(dir.path() / "f", "http://u/f");
  ASSERT_TRUE(in.ok());
  EXPECT_EQ(*read_all(**in, "f"), "file body");
  auto missing = open_file_source(dir.path() / "nope", "http://u/nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("http://u/nope"), std::string::npos);
}

TEST(ByteSource, FdSourceReadsFromTheCurrentOffset) {
  testing::TempDir dir;
  { std::ofstream(dir.path() / "f") << "0123456789"; }
  int fd = ::open((dir.path() / "f").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::lseek(fd, 4, SEEK_SET), 4);
  auto in = fd_source(UniqueFd(fd), "f");
  EXPECT_EQ(*read_all(*in, "f"), "456789");
}

}  // namespace
}  // namespace depot

#include "serve/open_file_cache.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <fstream>

#include "support/temp_dir.h"

namespace depot {
namespace {

struct stat stat_of(const std::filesystem::path& file) {
  struct stat st {};
  EXPECT_EQ(::stat(file.c_str(), &st), 0);
  return st;
}

Answer mirror_answer(const std::filesystem::path& file, uint64_t size) {
  Answer a;
  a.kind = Answer::Kind::kFile;
  a.outcome = CacheOutcome::kMirror;
  a.size = size;
  a.mtime = 100;
  a.etag = "\"64-5\"";
  a.last_modified = "Thu, 01 Jan 1970 00:01:40 GMT";
  a.content_type = "text/plain";
  a.body = std::make_shared<OpenBody>();
  a.body->fd.reset(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  return a;
}

TEST(OpenFileCache, KeepsRenderedFieldsAndSmallBodies) {
  testing::TempDir dir;
  std::ofstream(dir.path() / "f") << "hello";
  OpenFileCache cache(std::chrono::seconds(60));
  int dir_fd = ::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  EXPECT_FALSE(cache.find("f", dir_fd).has_value());
  cache.remember("f", mirror_answer(dir.path() / "f", 5), false, stat_of(dir.path() / "f"));
  auto a = cache.find("f", dir_fd);
  ASSERT_TRUE(a.has_value());
  ASSERT_TRUE(a->prepared);
  EXPECT_TRUE(a->etag.empty());  // lean copy: the strings live in `prepared`
  EXPECT_EQ(a->prepared->etag, "\"64-5\"");
  EXPECT_EQ(a->prepared->fields,
            "Content-Type: text/plain\r\nETag: \"64-5\"\r\n"
            "Last-Modified: Thu, 01 Jan 1970 00:01:40 GMT\r\nAccept-Ranges: bytes\r\n"
            "X-Depot-Cache: MIRROR\r\nContent-Length: 5\r\n");
  EXPECT_TRUE(a->prepared->has_bytes);
  EXPECT_EQ(a->prepared->bytes, "hello");
  EXPECT_EQ(a->size, 5u);
  ::close(dir_fd);
}

TEST(OpenFileCache, EntriesExpireAndBelongToTheirCache) {
  testing::TempDir dir;
  std::ofstream(dir.path() / "f") << "hello";
  int dir_fd = ::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  auto st = stat_of(dir.path() / "f");
  OpenFileCache expired(std::chrono::milliseconds(0));
  expired.remember("f", mirror_answer(dir.path() / "f", 5), false, st);
  EXPECT_FALSE(expired.find("f", dir_fd).has_value());
  OpenFileCache one(std::chrono::seconds(60)), two(std::chrono::seconds(60));
  one.remember("f", mirror_answer(dir.path() / "f", 5), false, st);
  EXPECT_FALSE(two.find("f", dir_fd).has_value());
  ::close(dir_fd);
}

TEST(OpenFileCache, AValidatedEntryIsDroppedTheMomentItsFileIsReplaced) {
  testing::TempDir dir;
  std::ofstream(dir.path() / "InRelease") << "gen1";
  int dir_fd = ::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  OpenFileCache cache(std::chrono::seconds(60));
  cache.remember("InRelease", mirror_answer(dir.path() / "InRelease", 4), true,
                 stat_of(dir.path() / "InRelease"));
  ASSERT_TRUE(cache.find("InRelease", dir_fd).has_value());
  // A new generation renamed into place: same size, same second.
  std::ofstream(dir.path() / "InRelease.new") << "gen2";
  std::filesystem::rename(dir.path() / "InRelease.new", dir.path() / "InRelease");
  EXPECT_FALSE(cache.find("InRelease", dir_fd).has_value());
  // Rewritten in place, or removed: dropped as well.
  cache.remember("InRelease", mirror_answer(dir.path() / "InRelease", 4), true,
                 stat_of(dir.path() / "InRelease"));
  ASSERT_TRUE(cache.find("InRelease", dir_fd).has_value());
  { std::ofstream(dir.path() / "InRelease") << "gen3!"; }
  EXPECT_FALSE(cache.find("InRelease", dir_fd).has_value());
  cache.remember("InRelease", mirror_answer(dir.path() / "InRelease", 5), true,
                 stat_of(dir.path() / "InRelease"));
  std::filesystem::remove(dir.path() / "InRelease");
  EXPECT_FALSE(cache.find("InRelease", dir_fd).has_value());
  ::close(dir_fd);
}

TEST(OpenFileCache, ABlobEntryIsNotStatted) {
  testing::TempDir dir;
  std::ofstream(dir.path() / "a.deb") << "debx";
  int dir_fd = ::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  OpenFileCache cache(std::chrono::seconds(60));
  cache.remember("a.deb", mirror_answer(dir.path() / "a.deb", 4), false,
                 stat_of(dir.path() / "a.deb"));
  std::filesystem::remove(dir.path() / "a.deb");
  EXPECT_TRUE(cache.find("a.deb", dir_fd).has_value());  // immutable: served until the TTL
  ::close(dir_fd);
}

}  // namespace
}  // namespace depot

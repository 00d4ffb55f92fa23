#include "serve/open_file_cache.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <fstream>

#include "support/temp_dir.h"

namespace depot {
namespace {

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
  EXPECT_FALSE(cache.find("f").has_value());
  cache.remember("f", mirror_answer(dir.path() / "f", 5));
  auto a = cache.find("f");
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
}

TEST(OpenFileCache, EntriesExpireAndBelongToTheirCache) {
  testing::TempDir dir;
  std::ofstream(dir.path() / "f") << "hello";
  OpenFileCache expired(std::chrono::milliseconds(0));
  expired.remember("f", mirror_answer(dir.path() / "f", 5));
  EXPECT_FALSE(expired.find("f").has_value());
  OpenFileCache one(std::chrono::seconds(60)), two(std::chrono::seconds(60));
  one.remember("f", mirror_answer(dir.path() / "f", 5));
  EXPECT_FALSE(two.find("f").has_value());
}

}  // namespace
}  // namespace depot

#include "mirror/plan.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace depot {
namespace {

Entry blob(const char* path, uint64_t size, const std::string& sha) {
  Entry e{.path = *RelPath::parse(path),
          .size = size,
          .digests = {},
          .url = std::string("http://up/") + path,
          .stage = Stage::kBlob,
          .content = nullptr,
          .unchanged = false,
          .etag = {},
          .last_modified = {}};
  e.digests.sha256 = sha;
  return e;
}

FileRecord rec(const char* path, uint64_t size, const std::string& sha) {
  FileRecord r;
  r.path = path;
  r.size = size;
  r.digests.sha256 = sha;
  return r;
}

const std::string A(64, 'a'), B(64, 'b');

TEST(Plan, UnchangedNeedsRecordAndDiskToAgree) {
  std::vector<Entry> entries = {blob("same", 10, A), blob("changed", 10, B),
                                blob("deleted_on_disk", 10, A), blob("new", 7, A),
                                blob("resized_on_disk", 10, A)};
  std::unordered_map<std::string, FileRecord> records = {
      {"same", rec("same", 10, A)},
      {"changed", rec("changed", 10, A)},
      {"deleted_on_disk", rec("deleted_on_disk", 10, A)},
      {"resized_on_disk", rec("resized_on_disk", 10, A)}};
  std::unordered_map<std::string, FileStat> disk = {
      {"same", {10, 0}}, {"changed", {10, 0}}, {"resized_on_disk", {3, 0}}};
  auto plan = make_plan(entries, records, disk);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->unchanged, (std::vector<size_t>{0}));
  // "changed" has the right size on disk but a different digest: verified by hashing first.
  EXPECT_EQ(plan->rehash, (std::vector<size_t>{1}));
  EXPECT_EQ(plan->download, (std::vector<size_t>{2, 3, 4}));
  EXPECT_EQ(plan->download_bytes, 27u);
  EXPECT_TRUE(plan->stale.empty());
}

TEST(Plan, StaleFromDiskAndRecords) {
  std::vector<Entry> entries = {blob("keep", 1, A)};
  std::unordered_map<std::string, FileRecord> records = {{"keep", rec("keep", 1, A)},
                                                         {"gone_record", rec("gone_record", 1, A)}};
  std::unordered_map<std::string, FileStat> disk = {{"keep", {1, 0}}, {"debris", {5, 0}}};
  auto plan = make_plan(entries, records, disk);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->stale, (std::vector<std::string>{"debris", "gone_record"}));
}

TEST(Plan, IndexesWithLocalContent) {
  Entry fresh = blob("repodata.json", 5, "");
  fresh.content = memory_content("fresh");
  fresh.stage = Stage::kRoot;
  Entry same = fresh;
  same.path = *RelPath::parse("current_repodata.json");
  same.unchanged = true;
  auto plan = make_plan({fresh, same}, {}, {{"current_repodata.json", {5, 0}}});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->write, (std::vector<size_t>{0}));
  EXPECT_EQ(plan->unchanged, (std::vector<size_t>{1}));
}

TEST(Plan, LocalContentEqualToTheRecordIsNotRewritten) {
  // A page the source generated again with the same bytes as the committed copy.
  Entry page = blob("simple/a/index.html", 5, A);
  page.content = memory_content("page!");
  auto plan = make_plan({page}, {{"simple/a/index.html", rec("simple/a/index.html", 5, A)}},
                        {{"simple/a/index.html", {5, 0}}});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->unchanged, (std::vector<size_t>{0}));
  auto changed = make_plan({page}, {{"simple/a/index.html", rec("simple/a/index.html", 5, B)}},
                           {{"simple/a/index.html", {5, 0}}});
  EXPECT_EQ(changed->write, (std::vector<size_t>{0}));
}

TEST(Plan, UnchangedIndexMissingOnDiskIsWritten) {
  // An apt by-hash copy of an unchanged index, deleted from the mirror by hand.
  Entry copy = blob("dists/s/main/by-hash/SHA256/ab", 5, A);
  copy.content = memory_content("Packages");
  copy.unchanged = true;
  auto plan = make_plan({copy}, {}, {});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->write, (std::vector<size_t>{0}));
  auto wrong_size = make_plan({copy}, {}, {{"dists/s/main/by-hash/SHA256/ab", {4, 0}}});
  EXPECT_EQ(wrong_size->write, (std::vector<size_t>{0}));
}

TEST(Plan, DuplicatePathRefused) {
  auto plan = make_plan({blob("x", 1, A), blob("x", 1, A)}, {}, {});
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.error().message.find("x"), std::string::npos);
}

TEST(Plan, NoDigestNeverTrusted) {
  Entry e = blob("x", 1, "");
  auto plan = make_plan({e}, {{"x", rec("x", 1, "")}}, {{"x", {1, 0}}});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->download, (std::vector<size_t>{0}));
}

TEST(DownloadLoops, FewSmallFilesStayOnOneLoop) {
  EXPECT_EQ(assign_download_loops({10, 20, 30}, 2), (std::vector<size_t>{0, 0, 0}));
  EXPECT_TRUE(assign_download_loops({}, 4).empty());
}

TEST(DownloadLoops, ManyFilesAreSpreadEvenly) {
  std::vector<uint64_t> sizes(100, 1000);
  auto loops = assign_download_loops(sizes, 2);
  EXPECT_EQ(std::count(loops.begin(), loops.end(), 0u), 50);
  EXPECT_EQ(std::count(loops.begin(), loops.end(), 1u), 50);
  EXPECT_EQ(assign_download_loops(sizes, 1), std::vector<size_t>(100, 0));
}

TEST(DownloadLoops, FewLargeFilesAreBalancedByBytes) {
  const uint64_t mib = 1 << 20;
  // One big file and three smaller ones: the big one alone on a loop.
  auto loops = assign_download_loops({60 * mib, 20 * mib, 20 * mib, 20 * mib}, 2);
  EXPECT_EQ(loops, (std::vector<size_t>{0, 1, 1, 1}));
  EXPECT_EQ(assign_download_loops({40 * mib, 40 * mib}, 3), (std::vector<size_t>{0, 1}));
}

}  // namespace
}  // namespace depot

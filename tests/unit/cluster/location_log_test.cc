#include "cluster/location_log.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "support/temp_dir.h"

namespace depot::cluster {
namespace {

std::unique_ptr<LocationLog> open_log(const std::filesystem::path& dir) {
  auto r = LocationLog::open(dir);
  EXPECT_TRUE(r.ok()) << r.error().to_string();
  return r.ok() ? std::move(r).value() : nullptr;
}

std::vector<std::string> nodes_of(std::vector<Copy> copies) {
  std::vector<std::string> names;
  for (const Copy& c : copies) names.push_back(c.node);
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> holder_names(LocationLog& log, std::string_view path) {
  auto r = log.holders(path);
  EXPECT_TRUE(r.ok()) << r.error().to_string();
  return r.ok() ? nodes_of(r.value()) : std::vector<std::string>{};
}

NodeChange put(int64_t seq, std::string path, uint64_t size, std::string sha = "") {
  return {seq, false, std::move(path), size, sha.empty() ? std::string(64, 'a') : sha};
}

NodeChange del(int64_t seq, std::string path) { return {seq, true, std::move(path), 0, ""}; }

class LocationLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log_ = open_log(dir_.path() / "state");
    ASSERT_NE(log_, nullptr);
  }
  testing::TempDir dir_;
  std::unique_ptr<LocationLog> log_;
};

TEST_F(LocationLogTest, AddRemoveHolders) {
  EXPECT_TRUE(holder_names(*log_, "a/x.deb").empty());
  ASSERT_TRUE(log_->add("a/x.deb", {"n1", 10, std::string(64, '1')}).ok());
  ASSERT_TRUE(log_->add("a/x.deb", {"n2", 10, std::string(64, '1')}).ok());
  ASSERT_TRUE(log_->add("a/y.deb", {"n1", 5, std::string(64, '2')}).ok());
  EXPECT_EQ(holder_names(*log_, "a/x.deb"), (std::vector<std::string>{"n1", "n2"}));

  // Adding again replaces the copy's size and sha256.
  ASSERT_TRUE(log_->add("a/x.deb", {"n1", 11, std::string(64, '3')}).ok());
  auto h = log_->holders("a/x.deb");
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 2u);
  for (const Copy& c : *h) {
    if (c.node == "n1") {
      EXPECT_EQ(c.size, 11u);
      EXPECT_EQ(c.sha256, std::string(64, '3'));
    }
  }

  ASSERT_TRUE(log_->remove("n1", "a/x.deb").ok());
  ASSERT_TRUE(log_->remove("n1", "a/x.deb").ok());  // idempotent
  ASSERT_TRUE(log_->remove("n9", "nothing").ok());
  EXPECT_EQ(holder_names(*log_, "a/x.deb"), (std::vector<std::string>{"n2"}));
  EXPECT_EQ(holder_names(*log_, "a/y.deb"), (std::vector<std::string>{"n1"}));
}

TEST_F(LocationLogTest, ApplyPagesAndCursor) {
  auto c0 = log_->cursor("n1");
  ASSERT_TRUE(c0.ok());
  EXPECT_EQ(*c0, 0);

  ASSERT_TRUE(log_->apply("n1", {put(1, "p/a", 1), put(2, "p/b", 2), put(3, "p/c", 3)}, 3).ok());
  EXPECT_EQ(*log_->cursor("n1"), 3);
  EXPECT_EQ(*log_->cursor("n2"), 0);
  EXPECT_EQ(*log_->copy_count(), 3u);

  // The next page replaces one copy and deletes another (and a path it never had).
  ASSERT_TRUE(log_->apply("n1",
                          {put(4, "p/a", 100, std::string(64, 'f')), del(5, "p/b"), del(6, "p/zz")},
                          6)
                  .ok());
  EXPECT_EQ(*log_->cursor("n1"), 6);
  auto a = log_->holders("p/a");
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->size(), 1u);
  EXPECT_EQ((*a)[0].node, "n1");
  EXPECT_EQ((*a)[0].size, 100u);
  EXPECT_EQ((*a)[0].sha256, std::string(64, 'f'));
  EXPECT_TRUE(holder_names(*log_, "p/b").empty());
  EXPECT_EQ(holder_names(*log_, "p/c"), (std::vector<std::string>{"n1"}));

  // An empty page still moves the cursor, even backwards (a recreated inventory).
  ASSERT_TRUE(log_->apply("n1", {}, 9).ok());
  EXPECT_EQ(*log_->cursor("n1"), 9);
  ASSERT_TRUE(log_->apply("n1", {}, 2).ok());
  EXPECT_EQ(*log_->cursor("n1"), 2);

  // Pages of another node leave n1's copies alone.
  ASSERT_TRUE(log_->apply("n2", {put(1, "p/a", 100), del(2, "p/c")}, 2).ok());
  EXPECT_EQ(holder_names(*log_, "p/a"), (std::vector<std::string>{"n1", "n2"}));
  EXPECT_EQ(holder_names(*log_, "p/c"), (std::vector<std::string>{"n1"}));
  EXPECT_EQ(*log_->cursor("n2"), 2);
}

TEST_F(LocationLogTest, ForgetDropsCopiesAndCursorOfOneNode) {
  ASSERT_TRUE(log_->apply("n1", {put(1, "p/a", 1), put(2, "p/b", 2)}, 2).ok());
  ASSERT_TRUE(log_->apply("n2", {put(1, "p/a", 1)}, 7).ok());
  ASSERT_TRUE(log_->forget("n1").ok());
  EXPECT_EQ(*log_->cursor("n1"), 0);
  EXPECT_EQ(*log_->cursor("n2"), 7);
  EXPECT_EQ(holder_names(*log_, "p/a"), (std::vector<std::string>{"n2"}));
  EXPECT_TRUE(holder_names(*log_, "p/b").empty());
  EXPECT_EQ(*log_->copy_count(), 1u);
  ASSERT_TRUE(log_->forget("never-seen").ok());
}

TEST_F(LocationLogTest, PathsPageInOrder) {
  // p/00 .. p/09 on n1; the even ones also on n2.
  for (int i = 9; i >= 0; --i) {
    std::string path = "p/0" + std::to_string(i);
    ASSERT_TRUE(log_->add(path, {"n1", 1, "s"}).ok());
    if (i % 2 == 0) {
      ASSERT_TRUE(log_->add(path, {"n2", 1, "s"}).ok());
    }
  }
  std::vector<std::string> seen;
  std::string after;
  for (;;) {
    auto page = log_->paths(after, 3);
    ASSERT_TRUE(page.ok()) << page.error().to_string();
    if (page->empty()) break;
    EXPECT_LE(page->size(), 3u);
    for (const auto& [path, copies] : *page) {
      seen.push_back(path);
      const bool even = (path.back() - '0') % 2 == 0;
      const std::vector<std::string> expected =
          even ? std::vector<std::string>{"n1", "n2"} : std::vector<std::string>{"n1"};
      EXPECT_EQ(nodes_of(copies), expected) << path;
    }
    after = page->back().first;
  }
  ASSERT_EQ(seen.size(), 10u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(seen.front(), "p/00");
  EXPECT_TRUE(log_->paths("", 0)->empty());
  EXPECT_EQ(log_->paths("p/08", 100)->size(), 1u);

  std::vector<std::string> on2;
  after.clear();
  for (;;) {
    auto page = log_->paths_on("n2", after, 2);
    ASSERT_TRUE(page.ok()) << page.error().to_string();
    if (page->empty()) break;
    EXPECT_LE(page->size(), 2u);
    on2.insert(on2.end(), page->begin(), page->end());
    after = page->back();
  }
  EXPECT_EQ(on2, (std::vector<std::string>{"p/00", "p/02", "p/04", "p/06", "p/08"}));
  EXPECT_TRUE(log_->paths_on("n3", "", 10)->empty());
  EXPECT_EQ(log_->paths_on("n1", "p/05", 100)->size(), 4u);
}

TEST_F(LocationLogTest, Counts) {
  EXPECT_EQ(*log_->path_count(), 0u);
  EXPECT_EQ(*log_->copy_count(), 0u);
  ASSERT_TRUE(log_->add("a", {"n1", 1, "s"}).ok());
  ASSERT_TRUE(log_->add("a", {"n2", 1, "s"}).ok());
  ASSERT_TRUE(log_->add("b", {"n1", 1, "s"}).ok());
  EXPECT_EQ(*log_->path_count(), 2u);
  EXPECT_EQ(*log_->copy_count(), 3u);
}

TEST_F(LocationLogTest, ReopenKeepsEverything) {
  ASSERT_TRUE(log_->apply("n1", {put(1, "p/a", 42, std::string(64, 'c'))}, 1).ok());
  ASSERT_TRUE(log_->add("p/b", {"n2", 7, "s"}).ok());
  log_.reset();
  log_ = open_log(dir_.path() / "state");
  ASSERT_NE(log_, nullptr);
  EXPECT_EQ(*log_->cursor("n1"), 1);
  auto a = log_->holders("p/a");
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->size(), 1u);
  EXPECT_EQ((*a)[0].size, 42u);
  EXPECT_EQ((*a)[0].sha256, std::string(64, 'c'));
  EXPECT_EQ(holder_names(*log_, "p/b"), (std::vector<std::string>{"n2"}));
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "state" / "locations.sqlite3"));
}

TEST_F(LocationLogTest, LargeSizesRoundTrip) {
  const uint64_t big = (uint64_t{1} << 62) + 3;
  ASSERT_TRUE(log_->add("big", {"n1", big, "s"}).ok());
  EXPECT_EQ((*log_->holders("big"))[0].size, big);
}

TEST_F(LocationLogTest, ApplyOfALargePage) {
  std::vector<NodeChange> changes;
  for (int i = 0; i < 20000; ++i) changes.push_back(put(i + 1, "big/" + std::to_string(i), i));
  ASSERT_TRUE(log_->apply("n1", changes, 20000).ok());
  EXPECT_EQ(*log_->copy_count(), 20000u);
  EXPECT_EQ(*log_->path_count(), 20000u);
  EXPECT_EQ(*log_->cursor("n1"), 20000);
}

TEST(LocationLogOpenTest, ErrorsNameTheFile) {
  testing::TempDir dir;
  const auto blocker = dir.path() / "file";
  std::ofstream(blocker) << "not a directory";
  auto r = LocationLog::open(blocker / "state");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find(blocker.string()), std::string::npos) << r.error().message;

  const auto state = dir.path() / "corrupt";
  std::filesystem::create_directories(state);
  std::ofstream(state / "locations.sqlite3") << std::string(4096, 'x');
  r = LocationLog::open(state);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("locations.sqlite3"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace depot::cluster

#include "site/history.h"

#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace depot::site {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

WallTime at(int64_t hour) { return WallTime(std::chrono::hours(hour)); }

using testing::TempDir;

TEST(HistoryTest, RecordsRunsAndClosesOnesCutOffByACrash) {
  TempDir dir;
  {
    auto h = History::open(dir.path() / "history.db", at(1));
    ASSERT_TRUE(h.ok()) << h.error().message;
    auto id = h->begin("debian", at(1));
    ASSERT_TRUE(id.ok());
    RunRecord r;
    r.id = *id;
    r.started = at(1);
    r.ended = at(2);
    r.result = "success";
    r.files = 3;
    r.bytes = 300;
    r.total_files = 10;
    r.total_bytes = 1000;
    ASSERT_TRUE(h->end(r).ok());
    ASSERT_TRUE(h->begin("debian", at(3)).ok());  // never ended: the process died
  }
  auto h = History::open(dir.path() / "history.db", at(5));
  ASSERT_TRUE(h.ok());
  auto runs = h->recent("debian", 30);
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ((*runs)[0].result, "success");
  EXPECT_EQ((*runs)[0].total_bytes, 1000u);
  EXPECT_EQ((*runs)[0].ended, at(2));
  EXPECT_EQ((*runs)[1].result, "failed");
  EXPECT_EQ((*runs)[1].ended, at(5));
  EXPECT_NE((*runs)[1].error.find("cut off"), std::string::npos);
  EXPECT_EQ((*runs)[0].files, 3u);
  EXPECT_TRUE(h->recent("other", 30)->empty());
}

TEST(HistoryTest, RecentIsTheLastRunsOldestFirst) {
  TempDir dir;
  auto h = History::open(dir.path() / "h.db", at(0));
  ASSERT_TRUE(h.ok());
  for (int i = 0; i < 40; ++i) {
    auto id = h->begin("a", at(i));
    RunRecord r;
    r.id = *id;
    r.started = at(i);
    r.ended = at(i) + minutes(5);
    r.result = i % 2 ? "failed" : "success";
    r.exit_code = i;
    ASSERT_TRUE(h->end(r).ok());
  }
  auto runs = h->recent("a", 30);
  ASSERT_EQ(runs->size(), 30u);
  EXPECT_EQ(runs->front().exit_code, 10);
  EXPECT_EQ(runs->back().exit_code, 39);
}

TEST(HistoryTest, PruneKeepsEachJobsLastRunOfEveryResult) {
  TempDir dir;
  auto h = History::open(dir.path() / "h.db", at(0));
  for (int i = 0; i < 10; ++i) {
    auto id = h->begin("a", at(i));
    RunRecord r;
    r.id = *id;
    r.started = at(i);
    r.ended = at(i);
    r.result = i == 2 ? "failed" : "success";
    ASSERT_TRUE(h->end(r).ok());
  }
  ASSERT_TRUE(h->prune(at(100)).ok());
  auto runs = h->recent("a", 30);
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ(runs->front().started, at(2));
  EXPECT_EQ(runs->back().started, at(9));
}

TEST(HistoryTest, DisabledJobsAreRemembered) {
  TempDir dir;
  {
    auto h = History::open(dir.path() / "h.db", at(0));
    ASSERT_TRUE(h->set_disabled("a", true).ok());
    ASSERT_TRUE(h->set_disabled("b", true).ok());
    ASSERT_TRUE(h->set_disabled("b", false).ok());
  }
  auto h = History::open(dir.path() / "h.db", at(0));
  EXPECT_EQ(*h->disabled(), (std::set<std::string>{"a"}));
}

}  // namespace
}  // namespace depot::site

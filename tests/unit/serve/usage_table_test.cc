#include "serve/usage_table.h"

#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace depot {
namespace {

using std::chrono::hours;

TEST(UsageTable, RemembersUsesWithinTheWindowAcrossARestart) {
  testing::TempDir dir;
  FakeClock clock;
  const auto db = dir.path() / "usage.db";
  {
    auto t = UsageTable::open(db, hours(48), clock);
    ASSERT_TRUE(t.ok()) << t.error().to_string();
    (*t)->record("debian", "hello");
    (*t)->record("debian", "hello");
    (*t)->record("", "");                     // ignored
    (*t)->record("x", std::string(300, 'n'));  // too long: ignored
    EXPECT_TRUE((*t)->recently_used("debian", "hello"));
    EXPECT_FALSE((*t)->recently_used("ubuntu", "hello"));
    EXPECT_FALSE((*t)->recently_used("debian", "hell"));
    EXPECT_EQ((*t)->size(), 1u);
    ASSERT_TRUE((*t)->flush().ok());
  }
  auto again = UsageTable::open(db, hours(48), clock);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)->recently_used("debian", "hello"));
}

TEST(UsageTable, ForgetsWhatWasLastUsedBeforeTheWindow) {
  testing::TempDir dir;
  FakeClock clock;
  auto t = std::move(UsageTable::open(dir.path() / "usage.db", hours(48), clock).value());
  t->record("debian", "old");
  clock.advance(hours(30));
  t->record("debian", "new");
  ASSERT_TRUE(t->flush().ok());
  clock.advance(hours(30));
  EXPECT_FALSE(t->recently_used("debian", "old"));
  EXPECT_TRUE(t->recently_used("debian", "new"));
  ASSERT_TRUE(t->flush().ok());
  EXPECT_EQ(t->size(), 1u);
  auto reopened = std::move(UsageTable::open(dir.path() / "usage.db", hours(48), clock).value());
  EXPECT_EQ(reopened->size(), 1u);
}

}  // namespace
}  // namespace depot

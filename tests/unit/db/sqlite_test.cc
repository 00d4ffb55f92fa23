#include "db/sqlite.h"

#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace depot::db {
namespace {

TEST(Sqlite, MigratesOnceAndRecordsVersion) {
  testing::TempDir dir;
  auto file = dir.path() / "t.db";
  std::vector<std::string_view> migrations = {"CREATE TABLE a (x INTEGER);",
                                              "ALTER TABLE a ADD COLUMN y TEXT;"};
  {
    auto conn = Connection::open(file);
    ASSERT_TRUE(conn.ok()) << conn.error().message;
    ASSERT_TRUE(conn->migrate(migrations).ok());
    EXPECT_EQ(conn->schema_version(), 2);
    ASSERT_TRUE(conn->exec("INSERT INTO a (x, y) VALUES (1, 'one')").ok());
  }
  auto again = Connection::open(file);
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(again->migrate(migrations).ok());  // already current: no re-run
  auto st = again->prepare("SELECT x, y FROM a");
  ASSERT_TRUE(st.ok());
  auto row = st->step();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(st->column_int(0), 1);
  EXPECT_EQ(st->column_text(1), "one");
}

TEST(Sqlite, RefusesNewerSchema) {
  testing::TempDir dir;
  auto conn = Connection::open(dir.path() / "t.db");
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE(conn->exec("PRAGMA user_version = 7").ok());
  auto s = conn->migrate({"CREATE TABLE a (x INTEGER);"});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("newer"), std::string::npos);
}

TEST(Sqlite, FailedMigrationRollsBack) {
  testing::TempDir dir;
  auto conn = Connection::open(dir.path() / "t.db");
  ASSERT_TRUE(conn.ok());
  auto s = conn->migrate({"CREATE TABLE a (x INTEGER); THIS IS NOT SQL;"});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("t.db"), std::string::npos);
  EXPECT_EQ(conn->schema_version(), 0);
  EXPECT_TRUE(conn->prepare("SELECT * FROM a").ok() == false);
}

TEST(Sqlite, TransactionRollsBackWhenDropped) {
  testing::TempDir dir;
  auto conn = Connection::open(dir.path() / "t.db");
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE(conn->exec("CREATE TABLE a (x INTEGER)").ok());
  {
    Transaction txn(*conn);
    ASSERT_TRUE(txn.begin().ok());
    ASSERT_TRUE(conn->exec("INSERT INTO a VALUES (1)").ok());
  }
  {
    Transaction txn(*conn);
    ASSERT_TRUE(txn.begin().ok());
    auto st = conn->prepare("INSERT INTO a VALUES (?1)");
    ASSERT_TRUE(st.ok());
    st->bind(1, int64_t{2});
    ASSERT_TRUE(st->exec().ok());
    ASSERT_TRUE(txn.commit().ok());
  }
  auto st = conn->prepare("SELECT group_concat(x) FROM a");
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE(*st->step());
  EXPECT_EQ(st->column_text(0), "2");
}

TEST(Sqlite, FirstColumnTextsReadsEveryRow) {
  testing::TempDir dir;
  auto conn = Connection::open(dir.path() / "t.db");
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE(conn->exec("CREATE TABLE a (x TEXT, y INTEGER)").ok());
  ASSERT_TRUE(conn->exec("INSERT INTO a VALUES ('b', 1), ('a', 2), ('c', 3)").ok());
  auto st = conn->prepare("SELECT x, y FROM a WHERE y > ?1 ORDER BY x");
  ASSERT_TRUE(st.ok());
  st->bind(1, int64_t{1});
  auto texts = st->first_column_texts();
  ASSERT_TRUE(texts.ok()) << texts.error().message;
  EXPECT_EQ(*texts, (std::vector<std::string>{"a", "c"}));
  auto none = conn->prepare("SELECT x FROM a WHERE y > 9");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->first_column_texts()->empty());
}

TEST(Sqlite, OpenFailureNamesTheFile) {
  auto conn = Connection::open("/nonexistent-dir/x/y.db");
  ASSERT_FALSE(conn.ok());
  EXPECT_NE(conn.error().message.find("/nonexistent-dir/x/y.db"), std::string::npos);
}

}  // namespace
}  // namespace depot::db

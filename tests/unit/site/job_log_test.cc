#include "site/job_log.h"

#include <gtest/gtest.h>

#include "core/file_io.h"
#include "core/logger.h"
#include "support/temp_dir.h"

namespace depot::site {
namespace {

namespace fs = std::filesystem;

std::string read(const fs::path& file) { return *read_whole_file(file, file.string()); }

// Opens the log for one run and writes `text` into it.
void run(const fs::path& dir, const std::string& text, unsigned keep) {
  auto log = JobLog::open(dir, "debian", keep);
  ASSERT_TRUE(log.ok()) << log.error().message;
  std::fputs(text.c_str(), log->file());
}

TEST(JobLog, RotatesNewestFirstAndKeepsKeepOldRuns) {
  testing::TempDir tmp;
  fs::path dir = tmp.path() / "logs";
  for (int i = 1; i <= 5; ++i) run(dir, "run " + std::to_string(i) + "\n", 2);
  EXPECT_EQ(read(dir / "debian.log"), "run 5\n");
  EXPECT_EQ(read(dir / "debian.log.1"), "run 4\n");
  EXPECT_EQ(read(dir / "debian.log.2"), "run 3\n");
  EXPECT_FALSE(fs::exists(dir / "debian.log.3"));
}

TEST(JobLog, ALowerKeepRemovesTheOlderFiles) {
  testing::TempDir tmp;
  for (int i = 1; i <= 4; ++i) run(tmp.path(), "run " + std::to_string(i) + "\n", 3);
  ASSERT_TRUE(fs::exists(tmp.path() / "debian.log.3"));
  run(tmp.path(), "run 5\n", 1);
  EXPECT_EQ(read(tmp.path() / "debian.log.1"), "run 4\n");
  EXPECT_FALSE(fs::exists(tmp.path() / "debian.log.2"));
  EXPECT_FALSE(fs::exists(tmp.path() / "debian.log.3"));
  run(tmp.path(), "run 6\n", 0);
  EXPECT_EQ(read(tmp.path() / "debian.log"), "run 6\n");
  EXPECT_FALSE(fs::exists(tmp.path() / "debian.log.1"));
}

TEST(JobLog, ALoggerWritesLinesThatTailSees) {
  testing::TempDir tmp;
  auto log = JobLog::open(tmp.path(), "debian", 3);
  ASSERT_TRUE(log.ok());
  Logger logger(LogLevel::kInfo, LogFormat::kJson, log->file());
  logger.info("run_started", {{"job", "debian"}});
  auto text = JobLog::tail(tmp.path(), "debian", 1 << 20);
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->find("\"run_started\""), std::string::npos) << *text;
  EXPECT_EQ(log->path(), tmp.path() / "debian.log");
}

TEST(JobLog, TailReturnsWholeLinesOfTheLastBytes) {
  testing::TempDir tmp;
  run(tmp.path(), "first line\nsecond\nthird\n", 1);
  EXPECT_EQ(*JobLog::tail(tmp.path(), "debian", 1000), "first line\nsecond\nthird\n");
  EXPECT_EQ(*JobLog::tail(tmp.path(), "debian", 13), "second\nthird\n");  // cut at a line start
  EXPECT_EQ(*JobLog::tail(tmp.path(), "debian", 10), "third\n");          // cut line dropped
  EXPECT_EQ(*JobLog::tail(tmp.path(), "debian", 4), "ird\n");             // nothing else left
  EXPECT_EQ(*JobLog::tail(tmp.path(), "debian", 0), "");
  auto missing = JobLog::tail(tmp.path(), "npm", 10);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("npm.log"), std::string::npos);
}

TEST(JobLog, RefusesNamesThatLeaveTheDirectoryOrHide) {
  testing::TempDir tmp;
  for (const char* bad : {"", "a/b", "../x", ".hidden"}) {
    auto log = JobLog::open(tmp.path(), bad, 1);
    ASSERT_FALSE(log.ok()) << bad;
    EXPECT_EQ(log.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(log.error().message.find(tmp.path().string()), std::string::npos);
    EXPECT_FALSE(JobLog::tail(tmp.path(), bad, 10).ok());
  }
}

TEST(JobLog, AnUnusableDirectoryIsAnIoErrorNamingIt) {
  testing::TempDir tmp;
  ASSERT_TRUE(write_whole_file(tmp.path() / "file", "x").ok());
  auto log = JobLog::open(tmp.path() / "file", "debian", 1);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.error().code, ErrorCode::kIo);
  EXPECT_NE(log.error().message.find("file"), std::string::npos);
}

}  // namespace
}  // namespace depot::site

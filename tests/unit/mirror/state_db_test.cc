#include "mirror/state_db.h"

#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace depot {
namespace {

TEST(StateDb, UpsertLoadRemove) {
  testing::TempDir dir;
  auto db = StateDb::open(dir.path() / "state.db");
  ASSERT_TRUE(db.ok()) << db.error().message;
  FileRecord r;
  r.path = "noarch/a.conda";
  r.size = 42;
  r.digests.sha256 = std::string(64, 'a');
  r.digests.md5 = std::string(32, 'b');
  r.etag = "\"x\"";
  r.stage = 0;
  r.run_id = 1;
  ASSERT_TRUE(db->upsert({r}).ok());
  r.size = 43;  // replace
  ASSERT_TRUE(db->upsert({r}).ok());
  auto files = db->load_files();
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 1u);
  const FileRecord& got = files->at("noarch/a.conda");
  EXPECT_EQ(got.size, 43u);
  EXPECT_EQ(got.digests.md5, r.digests.md5);
  EXPECT_EQ(got.etag, "\"x\"");
  ASSERT_TRUE(db->remove({"noarch/a.conda"}).ok());
  EXPECT_TRUE(db->load_files()->empty());
}

TEST(StateDb, RunsAreRecordedAndSurviveReopen) {
  testing::TempDir dir;
  {
    auto db = StateDb::open(dir.path() / "state.db");
    ASSERT_TRUE(db.ok());
    auto id = db->begin_run("conda", "http://up/noarch");
    ASSERT_TRUE(id.ok());
    RunRecord run;
    run.id = *id;
    run.status = "complete";
    run.exit_code = 0;
    run.files_total = 10;
    run.files_downloaded = 3;
    ASSERT_TRUE(db->finish_run(run).ok());
    ASSERT_TRUE(db->begin_run("conda", "http://up/noarch").ok());
  }
  auto db = StateDb::open(dir.path() / "state.db");
  ASSERT_TRUE(db.ok());
  auto runs = db->recent_runs(5);
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ((*runs)[0].status, "running");  // newest first, unfinished
  EXPECT_EQ((*runs)[1].status, "complete");
  EXPECT_EQ((*runs)[1].files_downloaded, 3u);
  EXPECT_FALSE((*runs)[1].finished_at.empty());
}

}  // namespace
}  // namespace depot

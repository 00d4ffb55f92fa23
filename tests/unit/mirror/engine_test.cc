// The mirror engine end to end against a scripted loopback server: staged commit, failure
// keeps the previous index, hostile entries, no-op re-run, the delete guard.

#include "mirror/engine.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/file.h>

#include <fstream>
#include <set>

#include "core/digest.h"
#include "support/temp_dir.h"
#include "support/test_http_server.h"

namespace depot {
namespace {

namespace fs = std::filesystem;
using testing::Reply;
using testing::TestServer;

std::string sha256(const std::string& s) {
  Hasher h(digest_bit(DigestAlgo::kSha256));
  h.update(s);
  return h.finish().sha256;
}

std::string read(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class EngineTest : public ::testing::Test {
 protected:
  // Publishes a generation: packages name -> body, served under /ch/noarch/.
  std::string publish(const std::map<std::string, std::string>& packages,
                      const std::string& hostile = "") {
    std::string json = R"({"info":{"subdir":"noarch"},"packages.conda":{)";
    bool first = true;
    for (const auto& [name, body] : packages) {
      if (!first) json += ",";
      first = false;
      json += "\"" + name + R"(":{"size":)" + std::to_string(body.size()) + R"(,"sha256":")" +
              sha256(body) + "\"}";
      server_.route("/ch/noarch/" + name, {Reply(200, body)});
    }
    if (!hostile.empty()) {
      json += ",\"" + hostile + R"(":{"size":1,"sha256":")" + sha256("x") + "\"}";
    }
    json += "}}";
    server_.route("/ch/noarch/repodata.json", {Reply(200, json)});
    return json;
  }

  MirrorReport mirror(bool force = false) {
    MirrorOptions opts;
    opts.kind = "conda";
    opts.source.upstream = server_.url("/ch/noarch");
    opts.dir = dir_.path() / "m";
    opts.download.retry.max_attempts = 2;
    opts.download.retry.base_delay = std::chrono::milliseconds(1);
    opts.force = force;
    return run_mirror(opts, null_logger(), system_clock());
  }

  fs::path m() const { return dir_.path() / "m"; }

  std::set<std::string> files_outside_state() const {
    std::set<std::string> out;
    for (auto& e : fs::recursive_directory_iterator(m())) {
      auto rel = fs::relative(e.path(), m()).string();
      if (rel.starts_with(".depot")) continue;
      if (e.is_regular_file()) out.insert(rel);
    }
    return out;
  }

  testing::TempDir dir_;
  TestServer server_;
};

TEST_F(EngineTest, MirrorsEveryPackageThenTheIndex) {
  std::string json = publish({{"a-1-0.conda", "alpha"}, {"b-1-0.conda", "beta"}});
  MirrorReport r = mirror();
  ASSERT_EQ(r.outcome, MirrorOutcome::kComplete) << r.error;
  EXPECT_EQ(r.files_downloaded, 2u);
  EXPECT_EQ(r.bytes_downloaded, 9u);
  EXPECT_TRUE(r.indexes_committed);
  EXPECT_EQ(read(m() / "a-1-0.conda"), "alpha");
  EXPECT_EQ(read(m() / "repodata.json"), json);
  EXPECT_EQ(files_outside_state(),
            (std::set<std::string>{"a-1-0.conda", "b-1-0.conda", "repodata.json"}));
  EXPECT_TRUE(fs::is_empty(m() / ".depot/tmp"));
}

TEST_F(EngineTest, NoopRerunFetchesOnlyTheIndex) {
  publish({{"a-1-0.conda", "alpha"}, {"b-1-0.conda", "beta"}});
  ASSERT_EQ(mirror().outcome, MirrorOutcome::kComplete);
  MirrorReport r = mirror();
  ASSERT_EQ(r.outcome, MirrorOutcome::kComplete) << r.error;
  EXPECT_EQ(r.files_downloaded, 0u);
  EXPECT_EQ(r.files_unchanged, 3u);
  EXPECT_EQ(server_.hits("/ch/noarch/a-1-0.conda"), 1);
  EXPECT_EQ(server_.hits("/ch/noarch/repodata.json"), 2);
}

TEST_F(EngineTest, FailedPackageKeepsThePreviousIndex) {
  std::string old_json = publish({{"a-1-0.conda", "alpha"}});
  ASSERT_EQ(mirror().outcome, MirrorOutcome::kComplete);
  publish({{"a-1-0.conda", "alpha"}, {"good-1-0.conda", "good"}, {"bad-1-0.conda", "bad!"}});
  server_.route("/ch/noarch/bad-1-0.conda", {Reply(200, "BAD!")});  // wrong bytes, always
  MirrorReport r = mirror();
  EXPECT_EQ(r.outcome, MirrorOutcome::kFilesFailed);
  ASSERT_EQ(r.failed.size(), 1u);
  EXPECT_EQ(r.failed[0].path, "bad-1-0.conda");
  EXPECT_NE(r.failed[0].reason.find("sha256 mismatch"), std::string::npos) << r.failed[0].reason;
  EXPECT_FALSE(r.indexes_committed);
  EXPECT_EQ(read(m() / "repodata.json"), old_json);  // previous generation still served
  EXPECT_FALSE(fs::exists(m() / "bad-1-0.conda"));
  // The good package is committed already (unreferenced until the index is): no re-download.
  server_.route("/ch/noarch/bad-1-0.conda", {Reply(200, "bad!")});
  MirrorReport fixed = mirror();
  ASSERT_EQ(fixed.outcome, MirrorOutcome::kComplete) << fixed.error;
  EXPECT_EQ(fixed.files_downloaded, 1u);
  EXPECT_EQ(server_.hits("/ch/noarch/good-1-0.conda"), 1);
}

TEST_F(EngineTest, FirstRunFailurePublishesNoIndex) {
  publish({{"a-1-0.conda", "alpha"}});
  server_.route("/ch/noarch/a-1-0.conda", {Reply(503, "busy")});
  MirrorReport r = mirror();
  EXPECT_EQ(r.outcome, MirrorOutcome::kFilesFailed);
  EXPECT_NE(r.failed.at(0).reason.find("503"), std::string::npos);
  EXPECT_FALSE(fs::exists(m() / "repodata.json"));
}

TEST_F(EngineTest, HostileEntryChangesNothing) {
  publish({{"a-1-0.conda", "alpha"}}, "../../escape.conda");
  MirrorReport r = mirror();
  EXPECT_EQ(r.outcome, MirrorOutcome::kUpstream);
  EXPECT_NE(r.error.find("escape.conda"), std::string::npos) << r.error;
  EXPECT_TRUE(files_outside_state().empty());
  EXPECT_FALSE(fs::exists(dir_.path() / "escape.conda"));
  EXPECT_EQ(server_.hits("/ch/noarch/a-1-0.conda"), 0);
}

TEST_F(EngineTest, StaleFilesRemovedAfterIndexWithGuard) {
  std::map<std::string, std::string> many;
  for (int i = 0; i < 30; ++i) many["p" + std::to_string(i) + "-1-0.conda"] = "x" + std::to_string(i);
  publish(many);
  ASSERT_EQ(mirror().outcome, MirrorOutcome::kComplete);
  // Upstream shrinks to 2 packages: 28 of 31 files would go, beyond the 50% guard.
  std::map<std::string, std::string> few = {{"p0-1-0.conda", "x0"}, {"p1-1-0.conda", "x1"}};
  std::string json = publish(few);
  MirrorReport r = mirror();
  EXPECT_EQ(r.outcome, MirrorOutcome::kDeleteRefused);
  EXPECT_TRUE(r.indexes_committed);
  EXPECT_EQ(read(m() / "repodata.json"), json);
  EXPECT_TRUE(fs::exists(m() / "p29-1-0.conda"));
  MirrorReport forced = mirror(/*force=*/true);
  ASSERT_EQ(forced.outcome, MirrorOutcome::kComplete) << forced.error;
  EXPECT_EQ(forced.files_removed, 28u);
  EXPECT_EQ(files_outside_state(),
            (std::set<std::string>{"p0-1-0.conda", "p1-1-0.conda", "repodata.json"}));
}

TEST_F(EngineTest, SeveralDownloadLoopsShareTheWork) {
  std::map<std::string, std::string> many;
  for (int i = 0; i < 150; ++i) many["p" + std::to_string(i) + "-1-0.conda"] = std::string(i * 97, 'z');
  publish(many);
  server_.route("/ch/noarch/p77-1-0.conda", {Reply(200, "corrupt")});
  MirrorReport r = mirror();  // 150 jobs: two loops (transfer_threads defaults to 2)
  EXPECT_EQ(r.outcome, MirrorOutcome::kFilesFailed);
  ASSERT_EQ(r.failed.size(), 1u);
  EXPECT_EQ(r.failed[0].path, "p77-1-0.conda");
  EXPECT_EQ(r.files_downloaded, 149u);
  EXPECT_FALSE(fs::exists(m() / "repodata.json"));
  server_.route("/ch/noarch/p77-1-0.conda", {Reply(200, std::string(77 * 97, 'z'))});
  MirrorReport fixed = mirror();
  ASSERT_EQ(fixed.outcome, MirrorOutcome::kComplete) << fixed.error;
  EXPECT_EQ(fixed.files_downloaded, 1u);
  EXPECT_EQ(files_outside_state().size(), 151u);
  for (int i : {0, 1, 76, 149}) {
    EXPECT_EQ(read(m() / ("p" + std::to_string(i) + "-1-0.conda")), std::string(i * 97, 'z'));
  }
}

TEST_F(EngineTest, UnrecordedFileWithRightContentIsAdoptedNotDownloaded) {
  publish({{"a-1-0.conda", "alpha"}});
  fs::create_directories(m());
  { std::ofstream(m() / "a-1-0.conda") << "alpha"; }
  MirrorReport r = mirror();
  ASSERT_EQ(r.outcome, MirrorOutcome::kComplete) << r.error;
  EXPECT_EQ(r.files_adopted, 1u);
  EXPECT_EQ(server_.hits("/ch/noarch/a-1-0.conda"), 0);
}

TEST_F(EngineTest, SecondRunOnLockedDirectoryIsRefused) {
  publish({{"a-1-0.conda", "alpha"}});
  fs::create_directories(m() / ".depot");
  int fd = ::open((m() / ".depot/lock").c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  MirrorReport r = mirror();
  EXPECT_EQ(r.outcome, MirrorOutcome::kBusy);
  ::close(fd);
}

}  // namespace
}  // namespace depot

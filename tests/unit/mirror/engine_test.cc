// The mirror engine end to end, handed an in-memory target and a scripted downloader (no
// sockets, no disk but the state directory): staged commit, failure keeps the previous index,
// hostile entries, no-op re-run, the delete guard, adoption, the run lock.

#include "mirror/engine.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/file.h>

#include <set>

#include "core/digest.h"
#include "support/compress_tool.h"
#include "support/memory_target.h"
#include "support/scripted_downloader.h"
#include "support/temp_dir.h"

namespace depot {
namespace {

namespace fs = std::filesystem;
using testing::MemoryTarget;
using testing::Script;
using testing::ScriptedReply;

const std::string kUp = "http://up.test/ch/noarch";

class EngineTest : public ::testing::Test {
 protected:
  // Publishes a generation: packages name -> body, served under kUp.
  std::string publish(const std::map<std::string, std::string>& packages,
                      const std::string& hostile = "") {
    std::string json = R"({"info":{"subdir":"noarch"},"packages.conda":{)";
    bool first = true;
    for (const auto& [name, body] : packages) {
      if (!first) json += ",";
      first = false;
      json += "\"" + name + R"(":{"size":)" + std::to_string(body.size()) + R"(,"sha256":")" +
              sha256_hex(body) + "\"}";
      script_.route(url(name), body);
    }
    if (!hostile.empty()) {
      json += ",\"" + hostile + R"(":{"size":1,"sha256":")" + sha256_hex("x") + "\"}";
    }
    json += "}}";
    script_.route(url("repodata.json"), json);
    return json;
  }
  static std::string url(const std::string& name) { return kUp + "/" + name; }

  MirrorReport mirror(bool force = false, bool rebuild_state = false,
                      std::vector<std::string> foreign = {}) {
    SourceOptions source_opts;
    source_opts.upstream = kUp;
    auto source = make_source("conda", source_opts);
    EXPECT_TRUE(source.ok());
    MirrorOptions opts;
    opts.kind = "conda";
    opts.upstream = kUp;
    opts.state_dir = dir_.path() / "state";
    opts.download.retry.max_attempts = 2;
    opts.force = force;
    opts.rebuild_state = rebuild_state;
    opts.foreign_prefixes = std::move(foreign);
    MirrorParts parts{**source, target_, script_.factory()};
    return run_mirror(opts, parts, null_logger(), system_clock());
  }

  std::string read(const std::string& path) const { return target_.file(path).value_or("<missing>"); }
  bool exists(const std::string& path) const { return target_.file(path).has_value(); }
  std::set<std::string> files() const {
    std::set<std::string> out;
    for (const auto& [path, bytes] : target_.files()) out.insert(path);
    return out;
  }

  testing::TempDir dir_;
  MemoryTarget target_;
  Script script_;
};

TEST_F(EngineTest, MirrorsEveryPackageThenTheIndex) {
  std::string json = publish({{"a-1-0.conda", "alpha"}, {"b-1-0.conda", "beta"}});
  MirrorReport r = mirror();
  ASSERT_EQ(r.outcome, MirrorOutcome::kComplete) << r.error;
  EXPECT_EQ(r.files_downloaded, 2u);
  EXPECT_EQ(r.bytes_downloaded, 9u);
  EXPECT_TRUE(r.indexes_committed);
  EXPECT_EQ(read("a-1-0.conda"), "alpha");
  EXPECT_EQ(read("repodata.json"), json);
  EXPECT_EQ(files(), (std::set<std::string>{"a-1-0.conda", "b-1-0.conda", "repodata.json"}));
  EXPECT_EQ(target_.open_transactions(), 0);
  EXPECT_EQ(target_.debris_clears(), 1);
}

TEST_F(EngineTest, NoopRerunFetchesOnlyTheIndex) {
  publish({{"a-1-0.conda", "alpha"}, {"b-1-0.conda", "beta"}});
  ASSERT_EQ(mirror().outcome, MirrorOutcome::kComplete);
  MirrorReport r = mirror();
  ASSERT_EQ(r.outcome, MirrorOutcome::kComplete) << r.error;
  EXPECT_EQ(r.files_downloaded, 0u);
  EXPECT_EQ(r.files_unchanged, 3u);
  EXPECT_EQ(script_.hits(url("a-1-0.conda")), 1);
  EXPECT_EQ(script_.hits(url("repodata.json")), 2);
}

TEST_F(EngineTest, FailedPackageKeepsThePreviousIndex) {
  std::string old_json = publish({{"a-1-0.conda", "alpha"}});
  ASSERT_EQ(mirror().outcome, MirrorOutcome::kComplete);
  publish({{"a-1-0.conda", "alpha"}, {"good-1-0.conda", "good"}, {"bad-1-0.conda", "bad!"}});
  script_.route(url("bad-1-0.conda"), "BAD!");  // wrong bytes, always
  MirrorReport r = mirror();
  EXPECT_EQ(r.outcome, MirrorOutcome::kFilesFailed);
  ASSERT_EQ(r.failed.size(), 1u);
  EXPECT_EQ(r.failed[0].path, "bad-1-0.conda");
  EXPECT_NE(r.failed[0].reason.find("sha256 mismatch"), std::string::npos) << r.failed[0].reason;
  EXPECT_FALSE(r.indexes_committed);
  EXPECT_EQ(read("repodata.json"), old_json);  // previous generation still served
  EXPECT_FALSE(exists("bad-1-0.conda"));
  // The good package is committed already (unreferenced until the index is): no re-download.
  script_.route(url("bad-1-0.conda"), "bad!");
  MirrorReport fixed = mirror();
  ASSERT_EQ(fixed.outcome, MirrorOutcome::kComplete) << fixed.error;
  EXPECT_EQ(fixed.files_downloaded, 1u);
  EXPECT_EQ(script_.hits(url("good-1-0.conda")), 1);
}

TEST_F(EngineTest, FirstRunFailurePublishesNoIndex) {
  publish({{"a-1-0.conda", "alpha"}});
  script_.route(url("a-1-0.conda"), {ScriptedReply{503, "busy", ""}});
  MirrorReport r = mirror();
  EXPECT_EQ(r.outcome, MirrorOutcome::kFilesFailed);
  EXPECT_NE(r.failed.at(0).reason.find("503"), std::string::npos);
  EXPECT_FALSE(exists("repodata.json"));
}

TEST_F(EngineTest, HostileEntryChangesNothing) {
  publish({{"a-1-0.conda", "alpha"}}, "../../escape.conda");
  MirrorReport r = mirror();
  EXPECT_EQ(r.outcome, MirrorOutcome::kUpstream);
  EXPECT_NE(r.error.find("escape.conda"), std::string::npos) << r.error;
  EXPECT_TRUE(files().empty());
  
  EXPECT_EQ(script_.hits(url("a-1-0.conda")), 0);
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
  EXPECT_EQ(read("repodata.json"), json);
  EXPECT_TRUE(exists("p29-1-0.conda"));
  MirrorReport forced = mirror(/*force=*/true);
  ASSERT_EQ(forced.outcome, MirrorOutcome::kComplete) << forced.error;
  EXPECT_EQ(forced.files_removed, 28u);
  EXPECT_EQ(files(), (std::set<std::string>{"p0-1-0.conda", "p1-1-0.conda", "repodata.json"}));
}

TEST_F(EngineTest, FilesBelowForeignPrefixesAreNeverStale) {
  publish({{"a-1-0.conda", "alpha"}});
  ASSERT_EQ(mirror().outcome, MirrorOutcome::kComplete);
  target_.put("project/trace/mirror.example", "Sat Dec  5 05:00:00 UTC 2026\n");
  target_.put("project/stray", "x");
  MirrorReport r = mirror(false, false, {"project/trace/"});
  ASSERT_EQ(r.outcome, MirrorOutcome::kComplete) << r.error;
  EXPECT_EQ(r.files_removed, 1u);  // project/stray
  EXPECT_TRUE(exists("project/trace/mirror.example"));
  EXPECT_FALSE(exists("project/stray"));
}

TEST_F(EngineTest, SeveralDownloadLoopsShareTheWork) {
  std::map<std::string, std::string> many;
  for (int i = 0; i < 150; ++i) many["p" + std::to_string(i) + "-1-0.conda"] = std::string(i * 97, 'z');
  publish(many);
  script_.route(url("p77-1-0.conda"), "corrupt");
  MirrorReport r = mirror();  // 150 jobs: two loops (transfer_threads defaults to 2)
  EXPECT_EQ(r.outcome, MirrorOutcome::kFilesFailed);
  ASSERT_EQ(r.failed.size(), 1u);
  EXPECT_EQ(r.failed[0].path, "p77-1-0.conda");
  EXPECT_EQ(r.files_downloaded, 149u);
  EXPECT_FALSE(exists("repodata.json"));
  script_.route(url("p77-1-0.conda"), std::string(77 * 97, 'z'));
  MirrorReport fixed = mirror();
  ASSERT_EQ(fixed.outcome, MirrorOutcome::kComplete) << fixed.error;
  EXPECT_EQ(fixed.files_downloaded, 1u);
  EXPECT_EQ(files().size(), 151u);
  for (int i : {0, 1, 76, 149}) {
    EXPECT_EQ(read("p" + std::to_string(i) + "-1-0.conda"), std::string(i * 97, 'z'));
  }
}

TEST_F(EngineTest, UnrecordedFileWithRightContentIsAdoptedNotDownloaded) {
  publish({{"a-1-0.conda", "alpha"}});
  target_.put("a-1-0.conda", "alpha");
  MirrorReport r = mirror();
  ASSERT_EQ(r.outcome, MirrorOutcome::kComplete) << r.error;
  EXPECT_EQ(r.files_adopted, 1u);
  EXPECT_EQ(script_.hits(url("a-1-0.conda")), 0);
}

TEST_F(EngineTest, SecondRunOnLockedDirectoryIsRefused) {
  publish({{"a-1-0.conda", "alpha"}});
  fs::create_directories(dir_.path() / "state");
  int fd = ::open((dir_.path() / "state/lock").c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  MirrorReport r = mirror();
  EXPECT_EQ(r.outcome, MirrorOutcome::kBusy);
  ::close(fd);
}

TEST_F(EngineTest, IndexCommitFailureKeepsThePreviousGeneration) {
  std::string old_json = publish({{"a-1-0.conda", "alpha"}});
  ASSERT_EQ(mirror().outcome, MirrorOutcome::kComplete);
  publish({{"a-1-0.conda", "alpha"}, {"b-1-0.conda", "beta"}});
  target_.fail_commit_of([](const std::string& path) { return path == "repodata.json"; });
  MirrorReport r = mirror();
  EXPECT_EQ(r.outcome, MirrorOutcome::kStorage);
  EXPECT_NE(r.error.find("repodata.json"), std::string::npos) << r.error;
  EXPECT_FALSE(r.indexes_committed);
  EXPECT_EQ(read("repodata.json"), old_json);
  target_.fail_commit_of(nullptr);
  MirrorReport fixed = mirror();
  ASSERT_EQ(fixed.outcome, MirrorOutcome::kComplete) << fixed.error;
  EXPECT_EQ(fixed.files_downloaded, 0u);  // b was committed before the index failed
  EXPECT_EQ(script_.hits(url("b-1-0.conda")), 1);
  EXPECT_EQ(target_.open_transactions(), 0);
}

TEST_F(EngineTest, IndexAnsweredNotModifiedWritesNothing) {
  std::string json = publish({{"a-1-0.conda", "alpha"}});
  script_.route(url("repodata.json"), {ScriptedReply{200, json, "\"g1\""}});
  ASSERT_EQ(mirror().outcome, MirrorOutcome::kComplete);
  MirrorReport r = mirror();
  ASSERT_EQ(r.outcome, MirrorOutcome::kComplete) << r.error;
  EXPECT_EQ(r.indexes_written, 0u);
  EXPECT_EQ(r.files_unchanged, 2u);
  EXPECT_EQ(read("repodata.json"), json);
}

TEST_F(EngineTest, RebuiltStateAdoptsByStoredDigestsWithoutReading) {
  publish({{"a-1-0.conda", "alpha"}, {"b-1-0.conda", "beta"}});
  ASSERT_EQ(mirror().outcome, MirrorOutcome::kComplete);
  target_.set_stored_sha256("b-1-0.conda", sha256_hex("something else"));  // a lying record
  const int reads = target_.reads();
  MirrorReport r = mirror(/*force=*/false, /*rebuild_state=*/true);
  ASSERT_EQ(r.outcome, MirrorOutcome::kComplete) << r.error;
  EXPECT_EQ(r.files_adopted, 1u);     // a: its stored sha256 matches the index
  EXPECT_EQ(r.files_downloaded, 1u);  // b: the stored digest disagrees, fetched again
  EXPECT_EQ(target_.reads(), reads);  // nothing read back
  EXPECT_EQ(script_.hits(url("a-1-0.conda")), 1);
  EXPECT_EQ(script_.hits(url("b-1-0.conda")), 2);
  MirrorReport noop = mirror();
  EXPECT_EQ(noop.files_unchanged, 3u);
}

TEST_F(EngineTest, RebuiltStateReadsFilesBackWhenNoDigestIsStored) {
  publish({{"a-1-0.conda", "alpha"}});
  target_.put("a-1-0.conda", "alpha");  // written by another tool: no stored digest
  MirrorReport r = mirror(/*force=*/false, /*rebuild_state=*/true);
  ASSERT_EQ(r.outcome, MirrorOutcome::kComplete) << r.error;
  EXPECT_EQ(r.files_adopted, 1u);
  EXPECT_GE(target_.reads(), 1);
  EXPECT_EQ(script_.hits(url("a-1-0.conda")), 0);
}

// yum through the engine: primary.xml.* (compressed by the test's parameter) is parsed while
// it downloads, as the IndexFetcher's observer streams it in pieces.
class EngineYumTest : public ::testing::TestWithParam<const char*> {
 protected:
  static constexpr const char* kYum = "http://up.test/el/BaseOS";
  static std::string yurl(const std::string& rel) { return std::string(kYum) + "/" + rel; }

  // Publishes a generation of `n` packages (bodies "rpm <i> of <gen>"); primary's replies come
  // from `replies` (each given the compressed body) or, by default, in pieces of 700 bytes.
  // With `corrupt`, primary's compressed bytes are damaged and repomd.xml names them so.
  void publish(int n, const std::string& gen, bool corrupt = false,
               std::function<std::vector<ScriptedReply>(const std::string&)> replies = {}) {
    std::string xml =
        "<?xml version=\"1.0\"?>\n<metadata xmlns=\"http://linux.duke.edu/metadata/common\" "
        "packages=\"" + std::to_string(n) + "\">";
    for (int i = 0; i < n; ++i) {
      std::string name = "p" + std::to_string(i) + "-" + gen;
      std::string body = "rpm " + std::to_string(i) + " of " + gen;
      script_.route(yurl("Packages/" + name + ".rpm"), body);
      xml += "<package type=\"rpm\"><name>" + name + "</name><checksum type=\"sha256\">" +
             sha256_hex(body) + "</checksum><size package=\"" + std::to_string(body.size()) +
             "\"/><location href=\"Packages/" + name + ".rpm\"/><description>" +
             std::string(100, 'd') + "</description></package>";
    }
    xml += "</metadata>";
    std::string z = testing::compress_with(dir_.path(), GetParam(), xml);
    if (corrupt) {
      for (size_t i = z.size() / 2; i < z.size() / 2 + 8; ++i) z[i] = static_cast<char>(~z[i]);
    }
    primary_href_ = "repodata/" + gen + "-primary.xml." + GetParam();
    script_.route(yurl(primary_href_),
                  replies ? replies(z) : std::vector<ScriptedReply>{{200, z, "", 700}});
    repomd_ = "<repomd xmlns=\"http://linux.duke.edu/metadata/repo\"><revision>" + gen +
              "</revision><data type=\"primary\"><checksum type=\"sha256\">" + sha256_hex(z) +
              "</checksum><open-checksum type=\"sha256\">" + sha256_hex(xml) +
              "</open-checksum><location href=\"" + primary_href_ + "\"/><size>" +
              std::to_string(z.size()) + "</size></data></repomd>";
    script_.route(yurl("repodata/repomd.xml"), repomd_);
  }

  MirrorReport mirror() {
    SourceOptions source_opts;
    source_opts.upstream = kYum;
    auto source = make_source("yum", source_opts);
    EXPECT_TRUE(source.ok());
    MirrorOptions opts;
    opts.kind = "yum";
    opts.upstream = kYum;
    opts.state_dir = dir_.path() / "state";
    opts.download.retry.max_attempts = 2;
    MirrorParts parts{**source, target_, script_.factory()};
    return run_mirror(opts, parts, null_logger(), system_clock());
  }

  std::set<std::string> packages() const {
    std::set<std::string> out;
    for (const auto& [path, bytes] : target_.files()) {
      if (path.starts_with("Packages/")) out.insert(path);
    }
    return out;
  }

  testing::TempDir dir_;
  MemoryTarget target_;
  Script script_;
  std::string primary_href_, repomd_;
};

TEST_P(EngineYumTest, PrimaryIsParsedWhileDownloadingNotReadBack) {
  publish(300, "g1");
  MirrorReport r = mirror();
  ASSERT_EQ(r.outcome, MirrorOutcome::kComplete) << r.error;
  EXPECT_EQ(packages().size(), 300u);
  EXPECT_EQ(target_.pending_reads(primary_href_), 0);  // parsed as it streamed
  EXPECT_EQ(target_.pending_reads("repodata/repomd.xml"), 1);
  // The same generation again: repomd.xml names the committed primary, nothing streams, and
  // the stored copy is parsed to the same packages.
  const int reads = target_.reads();
  MirrorReport again = mirror();
  ASSERT_EQ(again.outcome, MirrorOutcome::kComplete) << again.error;
  EXPECT_EQ(again.files_downloaded, 0u);
  EXPECT_EQ(script_.hits(yurl(primary_href_)), 1);
  EXPECT_GT(target_.reads(), reads);
  EXPECT_EQ(packages().size(), 300u);
}

TEST_P(EngineYumTest, PrimaryRetriedMidBodyListsEachPackageOnce) {
  publish(300, "g1", false, [](const std::string& z) {
    return std::vector<ScriptedReply>{{200, z, "", 500, z.size() * 2 / 3}, {200, z, "", 500}};
  });
  MirrorReport r = mirror();
  ASSERT_EQ(r.outcome, MirrorOutcome::kComplete) << r.error;
  EXPECT_EQ(script_.hits(yurl(primary_href_)), 2);
  EXPECT_EQ(target_.pending_reads(primary_href_), 0);
  EXPECT_EQ(packages().size(), 300u);
  EXPECT_EQ(r.files_downloaded, 300u);  // each package once
  EXPECT_EQ(script_.hits(yurl("Packages/p0-g1.rpm")), 1);
}

TEST_P(EngineYumTest, CorruptCompressedPrimaryKeepsThePreviousGeneration) {
  publish(20, "g1");
  ASSERT_EQ(mirror().outcome, MirrorOutcome::kComplete);
  const std::map<std::string, std::string> before = target_.files();
  const std::string old_repomd = repomd_;
  publish(30, "g2", /*corrupt=*/true);
  MirrorReport r = mirror();
  EXPECT_EQ(r.outcome, MirrorOutcome::kUpstream);
  EXPECT_NE(r.error.find(yurl(primary_href_) + ": "), std::string::npos) << r.error;
  EXPECT_EQ(target_.files(), before);
  EXPECT_EQ(target_.file("repodata/repomd.xml"), old_repomd);
  EXPECT_EQ(script_.hits(yurl("Packages/p0-g2.rpm")), 0);
}

INSTANTIATE_TEST_SUITE_P(Compressions, EngineYumTest, ::testing::Values("gzip", "xz", "zstd"));

}  // namespace
}  // namespace depot

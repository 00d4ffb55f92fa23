#include "sources/crates/crates_source.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "support/fake_snapshot_context.h"
#include "support/temp_dir.h"

namespace depot {
namespace {

using FakeContext = testing::FakeSnapshotContext;

std::string sum(char c) { return std::string(64, c); }

std::string version(const std::string& name, const std::string& vers, char c,
                    const std::string& deps = "") {
  return R"({"name":")" + name + R"(","vers":")" + vers + R"(","cksum":")" + sum(c) +
         R"(","deps":[)" + deps + "]}\n";
}

class CratesSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ctx.files["http://up/index/config.json"] = R"({"dl":"http://dl.up/crates","api":"x"})";
    ctx.files["http://up/index/3/a/app"] =
        version("app", "1.0.0", 'a', R"({"name":"lib2","req":"1","kind":"normal"})") +
        version("app", "1.1.0", 'b',
                R"({"name":"lib2","req":"1"},{"name":"t","package":"tool","req":"1","kind":"dev"})");
    ctx.files["http://up/index/li/b2/lib2"] = version("lib2", "1.0.0", 'c');
    ctx.files["http://up/index/to/ol/tool"] =
        version("tool", "0.1.0", 'd', R"({"name":"x","req":"1","registry":"https://other/"})");
  }

  Result<Snapshot> snap(std::vector<std::string> crates, bool with_deps) {
    SourceOptions opts;
    opts.upstream = "http://up/index/";
    opts.values["base-url"] = "http://mirror.example/crates-io/";
    opts.lists["crate"] = std::move(crates);
    if (with_deps) opts.values["with-deps"] = "yes";
    auto src = make_source("crates", opts);
    if (!src.ok()) return src.error();
    return (*src)->snapshot(ctx);
  }

  testing::TempDir dir_;
  FakeContext ctx{dir_.path()};
};

TEST_F(CratesSourceTest, CratesThenTheirIndexFilesThenConfigLast) {
  auto s = snap({"app"}, false);
  ASSERT_TRUE(s.ok()) << s.error().message;
  std::vector<std::pair<std::string, Stage>> got;
  for (const auto& e : s->entries) got.emplace_back(e.path.str(), e.stage);
  std::vector<std::pair<std::string, Stage>> want = {
      {"crates/app/app-1.0.0.crate", Stage::kBlob},
      {"crates/app/app-1.1.0.crate", Stage::kBlob},
      {"index/3/a/app", Stage::kIndex},
      {"index/config.json", Stage::kRoot}};
  EXPECT_EQ(got, want);
  EXPECT_EQ(s->entries[0].url, "http://dl.up/crates/app/1.0.0/download");
  EXPECT_EQ(s->entries[1].digests.sha256, sum('b'));
  EXPECT_EQ(testing::content_of(s->entries.back()),
            "{\"dl\":\"http://mirror.example/crates-io/crates/{crate}/{crate}-{version}.crate\"}\n");
}

TEST_F(CratesSourceTest, WithDepsAddsTheClosureInThisRegistryOnly) {
  auto s = snap({"app"}, true);
  ASSERT_TRUE(s.ok()) << s.error().message;
  std::vector<std::string> paths;
  for (const auto& e : s->entries) paths.push_back(e.path.str());
  for (const char* want : {"crates/lib2/lib2-1.0.0.crate", "index/li/b2/lib2",
                           "crates/tool/tool-0.1.0.crate", "index/to/ol/tool"}) {
    EXPECT_NE(std::find(paths.begin(), paths.end(), want), paths.end()) << want;
  }
  EXPECT_EQ(paths.size(), 8u);  // 4 crates, 3 index files, config.json; "x" is elsewhere
}

TEST_F(CratesSourceTest, FailuresNameTheCrateOrTheFile) {
  auto missing = snap({"nope"}, false);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("crate \"nope\" not found upstream: "
                                         "http://up/index/no/pe/nope"),
            std::string::npos)
      << missing.error().message;
  ctx.files["http://up/index/3/a/app"] = version("app", "../../etc", 'a');
  auto hostile = snap({"app"}, false);
  ASSERT_FALSE(hostile.ok());
  EXPECT_EQ(hostile.error().code, ErrorCode::kUnsafePath);
  EXPECT_NE(hostile.error().message.find("http://up/index/3/a/app:1"), std::string::npos);
}

TEST(CratesSourceOptions, BaseUrlIsRequiredAndCrateNamesChecked) {
  SourceOptions opts;
  opts.upstream = "http://up/index";
  opts.lists["crate"] = {"app"};
  EXPECT_FALSE(make_source("crates", opts).ok());  // no --base-url
  opts.values["base-url"] = "http://m";
  EXPECT_TRUE(make_source("crates", opts).ok());
  opts.lists["crate"] = {"bad/name"};
  EXPECT_FALSE(make_source("crates", opts).ok());
  opts.lists.erase("crate");
  EXPECT_TRUE(make_source("crates", opts).ok());  // every crate of the git index
}

// Without a crate list, the crates are those the git index names (here one without `tool`).
TEST_F(CratesSourceTest, WithoutAListEveryCrateOfTheGitIndex) {
  std::filesystem::path repo = dir_.path() / "git-index";
  for (auto [rel, body] :
       {std::pair{"config.json", "{}"}, {"3/a/app", "x"}, {"li/b2/lib2", "x"}}) {
    std::filesystem::create_directories((repo / rel).parent_path());
    std::ofstream(repo / rel) << body;
  }
  std::string cmd = "cd '" + repo.string() +
                    "' && git init -q && git add -A && git -c user.name=t -c user.email=t@t "
                    "commit -q -m i >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  SourceOptions opts;
  opts.upstream = "http://up/index/";
  opts.values["base-url"] = "http://mirror.example/";
  opts.values["git-index"] = "file://" + repo.string();
  auto src = make_source("crates", opts);
  ASSERT_TRUE(src.ok()) << src.error().message;
  auto s = (*src)->snapshot(ctx);
  ASSERT_TRUE(s.ok()) << s.error().message;
  std::vector<std::string> paths;
  for (const auto& e : s->entries) paths.push_back(e.path.str());
  std::vector<std::string> want = {"crates/app/app-1.0.0.crate", "crates/app/app-1.1.0.crate",
                                   "index/3/a/app", "crates/lib2/lib2-1.0.0.crate",
                                   "index/li/b2/lib2", "index/config.json"};
  EXPECT_EQ(paths, want);
}

}  // namespace
}  // namespace depot

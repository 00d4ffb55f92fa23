#include "sources/npm/npm_source.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/fake_snapshot_context.h"
#include "support/temp_dir.h"

namespace depot {
namespace {

using FakeContext = testing::FakeSnapshotContext;
using Json = nlohmann::json;

std::string sha1(char c) { return std::string(40, c); }

Json version(const std::string& name, const std::string& v, char c, Json deps = Json::object()) {
  std::string file = name.substr(name.find('/') + 1) + "-" + v + ".tgz";
  return {{"name", name},
          {"version", v},
          {"dependencies", deps},
          {"dist", {{"tarball", "http://tar.up/" + name + "/-/" + file}, {"shasum", sha1(c)}}}};
}

std::string packument(const std::string& name, std::vector<Json> versions,
                      const std::string& latest) {
  Json doc = {{"name", name}, {"dist-tags", {{"latest", latest}}}};
  for (auto& v : versions) doc["versions"][v["version"].get<std::string>()] = v;
  return doc.dump();
}

class NpmSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ctx.files["http://up/app"] =
        packument("app",
                  {version("app", "1.0.0", 'a', {{"@fix/util", "^1"}}),
                   version("app", "1.1.0", 'b', {{"@fix/util", "^1"}, {"x", "git+https://h/x"}})},
                  "1.1.0");
    ctx.files["http://up/@fix%2futil"] =
        packument("@fix/util", {version("@fix/util", "1.0.0", 'c')}, "1.0.0");
  }

  Result<Snapshot> snap(std::vector<std::string> packages, bool with_deps,
                        std::string versions = "") {
    SourceOptions opts;
    opts.upstream = "http://up/";
    opts.values["base-url"] = "http://mirror.example/npm/";
    opts.lists["package"] = std::move(packages);
    if (with_deps) opts.values["with-deps"] = "yes";
    if (!versions.empty()) opts.values["versions"] = versions;
    auto src = make_source("npm", opts);
    if (!src.ok()) return src.error();
    return (*src)->snapshot(ctx);
  }

  testing::TempDir dir_;
  FakeContext ctx{dir_.path()};
};

TEST_F(NpmSourceTest, TarballsThenPackumentsWithTarballsRewritten) {
  auto s = snap({"app"}, false);
  ASSERT_TRUE(s.ok()) << s.error().message;
  std::vector<std::pair<std::string, Stage>> got;
  for (const auto& e : s->entries) got.emplace_back(e.path.str(), e.stage);
  std::vector<std::pair<std::string, Stage>> want = {{"app/-/app-1.0.0.tgz", Stage::kBlob},
                                                     {"app/-/app-1.1.0.tgz", Stage::kBlob},
                                                     {"app/index.json", Stage::kIndex},
                                                     {"app/index.abbrev.json", Stage::kIndex},
                                                     {".upstream/app.json", Stage::kIndex}};
  EXPECT_EQ(got, want);
  EXPECT_EQ(s->entries[0].url, "http://tar.up/app/-/app-1.0.0.tgz");
  EXPECT_EQ(s->entries[1].digests.sha1, sha1('b'));
  EXPECT_EQ(ctx.accepts.front(), "application/json");
  Json full = Json::parse(testing::content_of(s->entries[2]));
  EXPECT_EQ(full["versions"]["1.1.0"]["dist"]["tarball"],
            "http://mirror.example/npm/app/-/app-1.1.0.tgz");
  Json abbrev = Json::parse(testing::content_of(s->entries[3]));
  EXPECT_EQ(abbrev["versions"]["1.0.0"]["dist"]["tarball"],
            "http://mirror.example/npm/app/-/app-1.0.0.tgz");
}

TEST_F(NpmSourceTest, WithDepsAddsScopedDependenciesAtScopedPaths) {
  auto s = snap({"app"}, true);
  ASSERT_TRUE(s.ok()) << s.error().message;
  std::vector<std::string> paths;
  for (const auto& e : s->entries) paths.push_back(e.path.str());
  for (const char* want : {"@fix/util/-/util-1.0.0.tgz", "@fix/util/index.json",
                           "@fix/util/index.abbrev.json", ".upstream/@fix/util.json"}) {
    EXPECT_NE(std::find(paths.begin(), paths.end(), want), paths.end()) << want;
  }
  EXPECT_EQ(paths.size(), 9u);  // the git dependency is not followed
  Json full = Json::parse(testing::content_of(s->entries[6]));
  EXPECT_EQ(full["versions"]["1.0.0"]["dist"]["tarball"],
            "http://mirror.example/npm/@fix/util/-/util-1.0.0.tgz");
}

TEST_F(NpmSourceTest, LatestNDropsOlderVersions) {
  auto s = snap({"app"}, false, "latest-1");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->entries[0].path.str(), "app/-/app-1.1.0.tgz");
  EXPECT_EQ(s->entries.size(), 4u);
  Json full = Json::parse(testing::content_of(s->entries[1]));
  EXPECT_FALSE(full["versions"].contains("1.0.0"));
  EXPECT_FALSE(snap({"app"}, false, "latest-0").ok());
  EXPECT_FALSE(snap({"app"}, false, "newest").ok());
}

TEST_F(NpmSourceTest, FailuresNameThePackageOrTheDocument) {
  auto missing = snap({"nope"}, false);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("package \"nope\" not found upstream: http://up/nope"),
            std::string::npos)
      << missing.error().message;
  Json bad = version("app", "1.0.0", 'a');
  bad["dist"]["tarball"] = "http://tar.up/app/-/..%2f..%2fx.tgz";
  ctx.files["http://up/app"] = packument("app", {bad}, "1.0.0");
  auto hostile = snap({"app"}, false);
  ASSERT_FALSE(hostile.ok());
  EXPECT_EQ(hostile.error().code, ErrorCode::kUnsafePath);
  EXPECT_NE(hostile.error().message.find("http://up/app: version \"1.0.0\""), std::string::npos)
      << hostile.error().message;
}

TEST(NpmSourceOptions, BaseUrlAndAPackageListAreRequired) {
  SourceOptions opts;
  opts.upstream = "http://up";
  opts.lists["package"] = {"app"};
  EXPECT_FALSE(make_source("npm", opts).ok());  // no --base-url
  opts.values["base-url"] = "http://m";
  EXPECT_TRUE(make_source("npm", opts).ok());
  opts.lists["package"] = {"../etc"};
  EXPECT_FALSE(make_source("npm", opts).ok());
  opts.lists.erase("package");
  auto none = make_source("npm", opts);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("--package"), std::string::npos);
}

}  // namespace
}  // namespace depot

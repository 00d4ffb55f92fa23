#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "sources/source.h"
#include "support/fake_snapshot_context.h"
#include "support/temp_dir.h"

namespace depot {
namespace {

namespace fs = std::filesystem;

using FakeContext = testing::FakeSnapshotContext;

std::string repodata(const std::vector<std::string>& names) {
  std::string out = R"({"info":{"subdir":"noarch"},"packages.conda":{)";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += ",";
    out += "\"" + names[i] + R"(":{"size":3,"sha256":")" + std::string(64, 'c') + "\"}";
  }
  return out + "}}";
}

Result<Snapshot> snap(FakeContext& ctx, const std::string& upstream,
                      std::vector<std::string> subdirs = {}) {
  SourceOptions opts;
  opts.upstream = upstream;
  if (!subdirs.empty()) opts.lists["subdir"] = subdirs;
  auto src = make_source("conda", opts);
  if (!src.ok()) return src.error();
  return (*src)->snapshot(ctx);
}

class CondaSourceTest : public ::testing::Test {
 protected:
  testing::TempDir dir_;
  FakeContext ctx{dir_.path()};
};

TEST_F(CondaSourceTest, PackagesThenVariantsThenRepodataLast) {
  ctx.files["http://up/ch/noarch/repodata.json"] = repodata({"a-1-0.conda", "b-1-0.conda"});
  ctx.files["http://up/ch/noarch/repodata.json.bz2"] = "BZh";
  ctx.files["http://up/ch/noarch/current_repodata.json"] = repodata({"b-1-0.conda"});
  auto s = snap(ctx, "http://up/ch/noarch/");
  ASSERT_TRUE(s.ok()) << s.error().message;
  std::vector<std::pair<std::string, Stage>> got;
  for (const auto& e : s->entries) got.emplace_back(e.path.str(), e.stage);
  std::vector<std::pair<std::string, Stage>> want = {
      {"a-1-0.conda", Stage::kBlob},
      {"b-1-0.conda", Stage::kBlob},
      {"repodata.json.bz2", Stage::kIndex},
      {"current_repodata.json", Stage::kIndex},
      {"repodata.json", Stage::kRoot}};
  EXPECT_EQ(got, want);
  EXPECT_EQ(s->entries[0].url, "http://up/ch/noarch/a-1-0.conda");
  EXPECT_EQ(*s->entries[0].size, 3u);
  EXPECT_TRUE((s->entries.back().content != nullptr));
  EXPECT_EQ(s->entries.back().etag, "\"e-repodata.json\"");
}

TEST_F(CondaSourceTest, MissingRepodataIsAnErrorNamingTheUrl) {
  auto s = snap(ctx, "http://up/ch/noarch");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("http://up/ch/noarch/repodata.json"), std::string::npos);
}

TEST_F(CondaSourceTest, HostileEntryFailsTheSnapshot) {
  ctx.files["http://up/noarch/repodata.json"] = repodata({"ok.conda", "../../evil.conda"});
  auto s = snap(ctx, "http://up/noarch");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("evil.conda"), std::string::npos);
}

TEST_F(CondaSourceTest, ChannelRootWithSubdirsAndBaseUrl) {
  ctx.files["http://up/ch/noarch/repodata.json"] = repodata({"n-1-0.conda"});
  ctx.files["http://up/ch/linux-64/repodata.json"] =
      R"({"info":{"base_url":"http://cdn/pk"},"packages":{"l-1-0.tar.bz2":{"size":1,"md5":")" +
      std::string(32, 'd') + R"("}}})";
  ctx.files["http://up/ch/channeldata.json"] = "{}";
  auto s = snap(ctx, "http://up/ch", {"linux-64", "noarch"});
  ASSERT_TRUE(s.ok()) << s.error().message;
  std::map<std::string, std::string> urls;
  for (const auto& e : s->entries) urls[e.path.str()] = e.url;
  EXPECT_EQ(urls["linux-64/l-1-0.tar.bz2"], "http://cdn/pk/l-1-0.tar.bz2");
  EXPECT_EQ(urls["noarch/n-1-0.conda"], "http://up/ch/noarch/n-1-0.conda");
  EXPECT_EQ(urls["linux-64/repodata.json"], "http://up/ch/linux-64/repodata.json");
  EXPECT_EQ(urls["channeldata.json"], "http://up/ch/channeldata.json");
  EXPECT_EQ(s->entries.back().path.str(), "channeldata.json");
}

}  // namespace
}  // namespace depot

#include "sources/rustup/rustup_source.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/digest.h"
#include "support/fake_snapshot_context.h"
#include "support/temp_dir.h"

namespace depot {
namespace {

using FakeContext = testing::FakeSnapshotContext;

const std::string kUp = "http://up/rust";
const std::string kHost = "x86_64-unknown-linux-gnu";

std::string sha(const std::string &body) {
  Digests want;
  want.sha256 = "x";
  Hasher h(Hasher::mask_for(want));
  h.update(body);
  return h.finish().sha256;
}

std::string manifest(const std::string &date, char c) {
  std::string dir = "https://static.rust-lang.org/dist/" + date + "/";
  return "manifest-version = \"2\"\ndate = \"" + date +
         "\"\n[pkg.rustc]\nversion = \"1\"\n" + "[pkg.rustc.target." + kHost +
         "]\navailable = true\nurl = \"" + dir + "rustc-x.tar.gz\"\nhash = \"" +
         std::string(64, c) + "\"\nxz_url = \"" + dir +
         "rustc-x.tar.xz\"\nxz_hash = \"" + std::string(64, c) + "\"\n" +
         "[pkg.rust-src]\nversion = "
         "\"1\"\n[pkg.rust-src.target.\"*\"]\navailable = true\n" +
         "url = \"" + dir + "rust-src.tar.gz\"\nhash = \"" +
         std::string(64, 'f') + "\"\n";
}

class RustupSourceTest : public ::testing::Test {
protected:
  void put_manifest(const std::string &rel, const std::string &text,
                    bool asc = false) {
    ctx.files[kUp + "/" + rel] = text;
    ctx.files[kUp + "/" + rel + ".sha256"] =
        sha(text) + "  " + rel.substr(rel.rfind('/') + 1) + "\n";
    if (asc)
      ctx.files[kUp + "/" + rel + ".asc"] = "-----BEGIN PGP SIGNATURE-----\n";
  }

  void SetUp() override {
    put_manifest("dist/channel-rust-stable.toml", manifest("2025-01-09", 'a'),
                 true);
    put_manifest("dist/2025-01-08/channel-rust-stable.toml",
                 manifest("2025-01-08", 'b'));
    ctx.files[kUp + "/rustup/release-stable.toml"] =
        "schema-version = \"1\"\nversion = \"1.29.0\"\n";
    ctx.files[kUp + "/rustup/dist/" + kHost + "/rustup-init.sha256"] =
        std::string(64, 'c') + "\n";
  }

  Result<Snapshot> snap(std::vector<std::string> extra_channels = {},
                        std::string days = "") {
    SourceOptions opts;
    opts.upstream = kUp + "/";
    opts.lists["channel"] = {"stable"};
    for (auto &c : extra_channels)
      opts.lists["channel"].push_back(c);
    opts.lists["target"] = {kHost, "wasm32-unknown-unknown"};
    if (!days.empty())
      opts.values["history-days"] = days;
    auto src = make_source("rustup", opts);
    if (!src.ok())
      return src.error();
    return (*src)->snapshot(ctx);
  }

  testing::TempDir dir_;
  FakeContext ctx{dir_.path()};
};

TEST_F(RustupSourceTest, ArtifactsThenManifestAscSha256AndReleaseLast) {
  auto s = snap();
  ASSERT_TRUE(s.ok()) << s.error().message;
  std::vector<std::pair<std::string, Stage>> got;
  for (const auto &e : s->entries)
    got.emplace_back(e.path.str(), e.stage);
  const std::string init = "rustup/dist/" + kHost + "/rustup-init";
  const std::string archived =
      "rustup/archive/1.29.0/" + kHost + "/rustup-init";
  std::vector<std::pair<std::string, Stage>> want = {
      {"dist/2025-01-09/rust-src.tar.gz", Stage::kBlob},
      {"dist/2025-01-09/rustc-x.tar.gz", Stage::kBlob},
      {"dist/2025-01-09/rustc-x.tar.xz", Stage::kBlob},
      {init, Stage::kBlob},
      {archived, Stage::kBlob},
      {"dist/channel-rust-stable.toml", Stage::kRoot},
      {"dist/channel-rust-stable.toml.asc", Stage::kRoot},
      {"dist/channel-rust-stable.toml.sha256", Stage::kRoot},
      {init + ".sha256", Stage::kRoot},
      {"rustup/release-stable.toml", Stage::kRoot}};
  EXPECT_EQ(got, want);
  EXPECT_EQ(s->entries[1].url, kUp + "/dist/2025-01-09/rustc-x.tar.gz");
  EXPECT_EQ(s->entries[1].digests.sha256, std::string(64, 'a'));
  EXPECT_EQ(s->entries[3].digests.sha256, std::string(64, 'c'));
  EXPECT_EQ(s->entries[4].digests.sha256,
            std::string(64, 'c')); // no archive .sha256 upstream
  EXPECT_TRUE((s->entries[5].content != nullptr));
}

TEST_F(RustupSourceTest, HistoryDaysAddsTheDatedManifestsUpstreamHas) {
  auto s = snap({}, "3");
  ASSERT_TRUE(s.ok()) << s.error().message;
  std::vector<std::string> paths;
  for (const auto &e : s->entries)
    paths.push_back(e.path.str());
  for (const char *want :
       {"dist/2025-01-08/channel-rust-stable.toml",
        "dist/2025-01-08/channel-rust-stable.toml.sha256",
        "dist/2025-01-08/rustc-x.tar.xz", "dist/2025-01-09/rustc-x.tar.xz"}) {
    EXPECT_NE(std::find(paths.begin(), paths.end(), want), paths.end()) << want;
  }
  for (const char *day : {"2025-01-09", "2025-01-08", "2025-01-07"}) {
    std::string url = kUp + "/dist/" + day + "/channel-rust-stable.toml.sha256";
    EXPECT_NE(std::find(ctx.asked.begin(), ctx.asked.end(), url),
              ctx.asked.end())
        << url;
  }
  EXPECT_EQ(
      std::count(ctx.asked.begin(), ctx.asked.end(),
                 kUp + "/dist/2025-01-06/channel-rust-stable.toml.sha256"),
      0);
}

TEST_F(RustupSourceTest, SharedArtifactsOnceAndConflictsNamed) {
  put_manifest("dist/channel-rust-1.84.0.toml", manifest("2025-01-09", 'a'));
  auto s = snap({"1.84.0"});
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(std::count_if(s->entries.begin(), s->entries.end(),
                          [](const Entry &e) {
                            return e.path.str() ==
                                   "dist/2025-01-09/rustc-x.tar.xz";
                          }),
            1);
  put_manifest("dist/channel-rust-1.84.0.toml", manifest("2025-01-09", 'd'));
  auto clash = snap({"1.84.0"});
  ASSERT_FALSE(clash.ok());
  EXPECT_NE(clash.error().message.find("channel-rust-1.84.0.toml"),
            std::string::npos)
      << clash.error().message;
}

TEST_F(RustupSourceTest, FailuresNameTheFile) {
  ctx.files[kUp + "/dist/channel-rust-stable.toml"] += "# changed\n";
  auto mismatch = snap();
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(
      mismatch.error().message.find(kUp + "/dist/channel-rust-stable.toml"),
      std::string::npos)
      << mismatch.error().message;
  std::string hostile = manifest("2025-01-09", 'a');
  hostile.replace(
      hostile.find(
          "https://static.rust-lang.org/dist/2025-01-09/rustc-x.tar.gz"),
      59, "https://static.rust-lang.org/dist/2025-01-09/../../../x");
  put_manifest("dist/channel-rust-stable.toml", hostile);
  auto bad = snap();
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kUnsafePath);
  EXPECT_NE(bad.error().message.find(
                kUp + "/dist/channel-rust-stable.toml: pkg.rustc"),
            std::string::npos)
      << bad.error().message;
  ctx.files.erase(kUp + "/dist/channel-rust-stable.toml.sha256");
  EXPECT_FALSE(snap().ok());
}

TEST(RustupSourceOptions, ChannelsTargetsAndDaysAreChecked) {
  SourceOptions opts;
  opts.upstream = "https://static.rust-lang.org";
  opts.lists["channel"] = {"stable"};
  EXPECT_FALSE(make_source("rustup", opts).ok()); // no --target
  opts.lists["target"] = {"x86_64-unknown-linux-gnu"};
  EXPECT_TRUE(make_source("rustup", opts).ok());
  opts.values["history-days"] = "x";
  EXPECT_FALSE(make_source("rustup", opts).ok());
  opts.values["history-days"] = "30";
  EXPECT_TRUE(make_source("rustup", opts).ok());
  opts.lists["channel"] = {"../stable"};
  EXPECT_FALSE(make_source("rustup", opts).ok());
  opts.lists["channel"] = {"stable"};
  opts.upstream = "static.rust-lang.org";
  EXPECT_FALSE(make_source("rustup", opts).ok());
}

} // namespace
} // namespace depot

#include <gtest/gtest.h>

#include "core/digest.h"
#include "sources/source.h"
#include "support/fake_snapshot_context.h"
#include "support/temp_dir.h"

namespace depot {
namespace {

using FakeContext = testing::FakeSnapshotContext;

const std::string kUp = "http://up/rocky/BaseOS";

std::string sha256(const std::string& s) {
  Hasher h(digest_bit(DigestAlgo::kSha256));
  h.update(s);
  return h.finish().sha256;
}

std::string pkg(const std::string& name, const std::string& href, const std::string& sum,
                uint64_t size = 10) {
  return "<package type=\"rpm\"><name>" + name + "</name><checksum type=\"sha256\" pkgid=\"YES\">" +
         sum + "</checksum><size package=\"" + std::to_string(size) + "\"/><location href=\"" +
         href + "\"/></package>";
}

std::string primary(const std::string& packages) {
  return "<?xml version=\"1.0\"?>\n<metadata xmlns=\"http://linux.duke.edu/metadata/common\">" +
         packages + "</metadata>";
}

class YumSourceTest : public ::testing::Test {
 protected:
  testing::TempDir dir_;
  FakeContext ctx{dir_.path()};

  // Publishes `files` (type -> (href, body)) under kUp with a repomd.xml naming them.
  void publish(const std::vector<std::tuple<std::string, std::string, std::string>>& files,
               const std::string& extra_data = "") {
    std::string xml =
        "<?xml version=\"1.0\"?>\n<repomd xmlns=\"http://linux.duke.edu/metadata/repo\">"
        "<revision>7</revision>";
    for (const auto& [type, href, body] : files) {
      ctx.files[kUp + "/" + href] = body;
      xml += "<data type=\"" + type + "\"><checksum type=\"sha256\">" + sha256(body) +
             "</checksum><location href=\"" + href + "\"/><size>" + std::to_string(body.size()) +
             "</size></data>";
    }
    ctx.files[kUp + "/repodata/repomd.xml"] = xml + extra_data + "</repomd>";
  }

  Result<Snapshot> snap(SourceOptions opts = {}) {
    opts.upstream = kUp;
    auto src = make_source("yum", opts);
    if (!src.ok()) return src.error();
    return (*src)->snapshot(ctx);
  }
};

TEST_F(YumSourceTest, PackagesThenMetadataThenRepomdLast) {
  const std::string a(64, 'a'), b(64, 'b');
  std::string prim =
      primary(pkg("a", "Packages/a/a-1.rpm", a) + pkg("b", "Packages/b/b 1+x.rpm", b, 20) +
              pkg("a", "Packages/a/a-1.rpm", a));
  publish({{"primary", "repodata/1-primary.xml", prim},
           {"filelists", "repodata/2-filelists.xml", "<filelists/>"},
           {"updateinfo", "repodata/3-updateinfo.xml.xz", "not parsed"}});
  ctx.files[kUp + "/repodata/repomd.xml.asc"] = "signature";
  ctx.files[kUp + "/repodata/repomd.xml.key"] = "key";
  auto s = snap();
  ASSERT_TRUE(s.ok()) << s.error().message;
  std::vector<std::pair<std::string, Stage>> got;
  for (const auto& e : s->entries) got.emplace_back(e.path.str(), e.stage);
  std::vector<std::pair<std::string, Stage>> want = {
      {"Packages/a/a-1.rpm", Stage::kBlob},
      {"Packages/b/b 1+x.rpm", Stage::kBlob},
      {"repodata/1-primary.xml", Stage::kIndex},
      {"repodata/2-filelists.xml", Stage::kIndex},
      {"repodata/3-updateinfo.xml.xz", Stage::kIndex},
      {"repodata/repomd.xml.key", Stage::kRoot},
      {"repodata/repomd.xml.asc", Stage::kRoot},
      {"repodata/repomd.xml", Stage::kRoot}};
  EXPECT_EQ(got, want);
  EXPECT_EQ(s->entries[0].url, kUp + "/Packages/a/a-1.rpm");
  EXPECT_EQ(s->entries[1].url, kUp + "/Packages/b/b%201+x.rpm");
  EXPECT_EQ(*s->entries[1].size, 20u);
  EXPECT_EQ(s->entries[1].digests.sha256, b);
  EXPECT_FALSE((s->entries[0].content != nullptr));
  for (size_t i = 2; i < s->entries.size(); ++i) EXPECT_TRUE(s->entries[i].content != nullptr);
  EXPECT_EQ(s->entries.back().etag, "\"e-repodata/repomd.xml\"");
  EXPECT_EQ(*s->entries[2].size, prim.size());
}

TEST_F(YumSourceTest, SignatureAndKeyAreOptional) {
  publish({{"primary", "repodata/p.xml", primary(pkg("a", "a.rpm", std::string(64, 'a')))}});
  auto s = snap();
  ASSERT_TRUE(s.ok()) << s.error().message;
  ASSERT_EQ(s->entries.size(), 3u);
  EXPECT_EQ(s->entries.back().path.str(), "repodata/repomd.xml");
}

TEST_F(YumSourceTest, MetadataCheckedAgainstRepomd) {
  publish(
      {{"primary", "repodata/p.xml", primary("")}, {"other", "repodata/o.xml", "<otherdata/>"}});
  ctx.files[kUp + "/repodata/o.xml"] = "<otherdata/>!";  // upstream changed it after repomd
  auto s = snap();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find(kUp + "/repodata/o.xml"), std::string::npos)
      << s.error().message;
}

TEST_F(YumSourceTest, MissingRepomdOrPrimaryFails) {
  auto s = snap();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find(kUp + "/repodata/repomd.xml"), std::string::npos);
  publish({{"other", "repodata/o.xml", "<otherdata/>"}});
  s = snap();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("no primary"), std::string::npos) << s.error().message;
}

TEST_F(YumSourceTest, MetadataOutsideRepodataRefused) {
  for (const char* href :
       {"../p.xml", "Packages/p.xml", "repodata/repomd.xml", "/repodata/p.xml"}) {
    SCOPED_TRACE(href);
    ctx.files.clear();
    publish({{"primary", "repodata/p.xml", primary("")}},
            std::string("<data type=\"x\"><checksum type=\"sha256\">") + std::string(64, 'a') +
                "</checksum><location href=\"" + href + "\"/></data>");
    auto s = snap();
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("refusing location"), std::string::npos) << s.error().message;
  }
}

TEST_F(YumSourceTest, HostilePackageNamesFileAndPackage) {
  publish({{"primary", "repodata/p.xml",
            primary(pkg("ok", "ok.rpm", std::string(64, 'a')) +
                    pkg("evil", "../../../etc/cron.d/x", std::string(64, 'b')))}});
  auto s = snap();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find(kUp + "/repodata/p.xml"), std::string::npos)
      << s.error().message;
  EXPECT_NE(s.error().message.find("evil"), std::string::npos) << s.error().message;
}

TEST_F(YumSourceTest, SamePathDifferentChecksumFails) {
  publish({{"primary", "repodata/p.xml",
            primary(pkg("a", "a.rpm", std::string(64, 'a')) +
                    pkg("a", "a.rpm", std::string(64, 'b')))}});
  auto s = snap();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("a.rpm"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("different content"), std::string::npos) << s.error().message;
}

TEST_F(YumSourceTest, XmlBaseRefused) {
  publish({{"primary", "repodata/p.xml",
            primary("<package><name>c</name><checksum type=\"md5\">" + std::string(32, 'f') +
                    "</checksum><size package=\"1\"/><location xml:base=\"https://cdn.example/x/\" "
                    "href=\"c.rpm\"/></package>")}});
  auto s = snap();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("xml:base"), std::string::npos) << s.error().message;
}

TEST_F(YumSourceTest, RepeatedMetadataTypeRefused) {
  publish({{"primary", "repodata/p.xml", primary("")}, {"primary", "repodata/q.xml", primary("")}});
  auto s = snap();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("listed twice"), std::string::npos) << s.error().message;
}

TEST_F(YumSourceTest, KeepsSupersededRepodataOnly) {
  SourceOptions opts;
  opts.upstream = kUp;
  auto src = make_source("yum", opts);
  ASSERT_TRUE(src.ok());
  EXPECT_TRUE((*src)->keeps_superseded(*RelPath::parse("repodata/x-primary.xml.gz")));
  EXPECT_FALSE((*src)->keeps_superseded(*RelPath::parse("Packages/a/a.rpm")));
  EXPECT_FALSE((*src)->keeps_superseded(*RelPath::parse("repodata-old.rpm")));
}

TEST_F(YumSourceTest, BadOptionsRefused) {
  SourceOptions opts;
  EXPECT_FALSE(make_source("yum", opts).ok());
  opts.upstream = kUp;
  opts.lists["dist"] = {"x"};
  EXPECT_FALSE(make_source("yum", opts).ok());
  opts.lists.clear();
  opts.values["keyring"] = (dir_.path() / "missing.gpg").string();
  EXPECT_FALSE(make_source("yum", opts).ok());
}

}  // namespace
}  // namespace depot

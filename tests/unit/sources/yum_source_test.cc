#include <gtest/gtest.h>

#include "core/digest.h"
#include "sources/source.h"
#include "sources/yum/primary_stream.h"
#include "support/compress_tool.h"
#include "support/fake_snapshot_context.h"
#include "support/temp_dir.h"

namespace depot {
namespace {

using FakeContext = testing::FakeSnapshotContext;

const std::string kUp = "http://up/rocky/BaseOS";

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

// A blob entry as the tests compare them: path, size, sha256, URL.
using Blob = std::tuple<std::string, uint64_t, std::string, std::string>;

// `n` packages with distinct paths, with a description each (about 300 bytes per package).
std::string many_packages(int n, std::vector<Blob>* blobs) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    std::string name = "p" + std::to_string(i), path = "Packages/p/" + name + "-1.0.x86_64.rpm";
    std::string sum = sha256_hex(name);
    std::string p = pkg(name, path, sum, 1000 + i);
    p.insert(p.find("</package>"), "<description>Package " + name + std::string(120, '.') +
                                       "</description>");
    out += p;
    blobs->emplace_back(path, 1000 + i, sum, kUp + "/" + path);
  }
  return out;
}

std::vector<Blob> blobs_of(const Snapshot& s) {
  std::vector<Blob> out;
  for (const auto& e : s.entries) {
    if (e.stage == Stage::kBlob) {
      out.emplace_back(e.path.str(), e.size.value_or(0), e.digests.sha256, e.url);
    }
  }
  return out;
}

// The tools a compressed primary is tested with; bzip2 with 100 kB blocks, so that it, too,
// gives packages out before the end of a file this size.
const std::vector<std::vector<std::string>> kCompressors = {
    {"gzip"}, {"xz"}, {"zstd"}, {"bzip2", "-1"}, {"cat"}};

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
      xml += "<data type=\"" + type + "\"><checksum type=\"sha256\">" + sha256_hex(body) +
             "</checksum><location href=\"" + href + "\"/><size>" + std::to_string(body.size()) +
             "</size></data>";
    }
    ctx.files[kUp + "/repodata/repomd.xml"] = xml + extra_data + "</repomd>";
  }

  Result<Snapshot> snap(SourceOptions opts = {}) { return snap_in(ctx, std::move(opts)); }
  Result<Snapshot> snap_in(FakeContext& c, SourceOptions opts = {}) {
    opts.upstream = kUp;
    auto src = make_source("yum", opts);
    if (!src.ok()) return src.error();
    return (*src)->snapshot(c);
  }

  // Publishes into `c` a repomd.xml naming only primary: `xml` compressed by `tool` (tool[0],
  // then its arguments), with its open-size and open-checksum (`open_sha256`, `open_size`
  // override them). Returns primary's URL.
  std::string publish_primary(FakeContext& c, const std::vector<std::string>& tool,
                              const std::string& xml, std::string open_sha256 = "",
                              std::optional<uint64_t> open_size = {}) {
    std::string body = testing::compress_with(
        dir_.path(), tool[0], xml, std::vector<std::string>(tool.begin() + 1, tool.end()));
    std::string href = "repodata/primary.xml." + tool[0];
    if (open_sha256.empty()) open_sha256 = sha256_hex(xml);
    c.files[kUp + "/" + href] = body;
    c.files[kUp + "/repodata/repomd.xml"] =
        "<repomd xmlns=\"http://linux.duke.edu/metadata/repo\"><revision>8</revision>"
        "<data type=\"primary\"><checksum type=\"sha256\">" + sha256_hex(body) +
        "</checksum><open-checksum type=\"sha256\">" + open_sha256 +
        "</open-checksum><location href=\"" + href + "\"/><size>" +
        std::to_string(body.size()) + "</size><open-size>" +
        std::to_string(open_size.value_or(xml.size())) + "</open-size></data></repomd>";
    return kUp + "/" + href;
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

TEST_F(YumSourceTest, PrimaryIsParsedWhileItDownloads) {
  std::vector<Blob> want;
  const std::string xml = primary(many_packages(3000, &want));
  for (const auto& tool : kCompressors) {
    SCOPED_TRACE(tool[0]);
    FakeContext c(dir_.path());
    const std::string url = publish_primary(c, tool, xml);
    const size_t size = c.files[url].size();
    c.stream_piece = 512;
    uint64_t before_last = 0;  // packages parsed before primary's last piece arrived
    c.before_piece = [&](const std::string& u, ByteSink& observer, size_t at) {
      if (u == url && at + c.stream_piece >= size) {
        before_last = dynamic_cast<yum::PrimaryStream&>(observer).packages();
      }
    };
    auto s = snap_in(c);
    ASSERT_TRUE(s.ok()) << s.error().message;
    EXPECT_GT(before_last, 0u);
    EXPECT_EQ(c.opens[url], 0);  // never read back
    EXPECT_EQ(blobs_of(*s), want);

    // A 304: nothing streams; the stored copy is read back to the same packages.
    FakeContext back(dir_.path());
    publish_primary(back, tool, xml);
    back.unchanged.insert(url);
    back.stream_piece = 512;
    auto r = snap_in(back);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(back.opens[url], 1);
    EXPECT_EQ(blobs_of(*r), want);
  }
}

TEST_F(YumSourceTest, PrimaryRetriedMidBodyStartsOver) {
  std::vector<Blob> want;
  const std::string xml = primary(many_packages(3000, &want));
  for (const auto& tool : kCompressors) {
    SCOPED_TRACE(tool[0]);
    FakeContext c(dir_.path());
    const std::string url = publish_primary(c, tool, xml);
    c.stream_piece = 1000;
    c.break_after[url] = c.files[url].size() * 3 / 4;
    uint64_t before_reset = 0;
    c.before_piece = [&](const std::string& u, ByteSink& observer, size_t) {
      auto& p = dynamic_cast<yum::PrimaryStream&>(observer);
      if (u == url) before_reset = std::max(before_reset, p.packages());
    };
    auto s = snap_in(c);
    ASSERT_TRUE(s.ok()) << s.error().message;
    EXPECT_GT(before_reset, 0u);
    EXPECT_EQ(c.opens[url], 0);
    EXPECT_EQ(blobs_of(*s), want);  // each once
  }
}

TEST_F(YumSourceTest, CorruptOrTruncatedCompressedPrimaryFailsNamingIt) {
  std::vector<Blob> unused;
  const std::string xml = primary(many_packages(500, &unused));
  for (const auto& tool : kCompressors) {
    if (tool[0] == "cat") continue;
    for (bool truncate : {false, true}) {
      for (bool streamed : {true, false}) {
        SCOPED_TRACE(tool[0] + (truncate ? " truncated" : " corrupt") +
                     (streamed ? " streamed" : " read back"));
        FakeContext c(dir_.path());
        std::string url = publish_primary(c, tool, xml);
        std::string body = c.files[url];
        if (truncate) {
          body.resize(body.size() / 2);
        } else {
          for (size_t i = body.size() / 2; i < body.size() / 2 + 8; ++i) body[i] ^= 0x55;
        }
        publish_primary(c, tool, xml);
        c.files[url] = body;  // repomd.xml names these bytes (upstream made them so)
        std::string repomd = c.files[kUp + "/repodata/repomd.xml"];
        size_t at = repomd.find("<checksum type=\"sha256\">") + 24;
        repomd.replace(at, 64, sha256_hex(body));
        at = repomd.find("<size>") + 6;
        repomd.replace(at, repomd.find("</size>") - at, std::to_string(body.size()));
        c.files[kUp + "/repodata/repomd.xml"] = repomd;
        c.stream_piece = 700;
        if (!streamed) c.unchanged.insert(url);
        auto s = snap_in(c);
        ASSERT_FALSE(s.ok());
        EXPECT_TRUE(s.error().message.starts_with(url + ": ")) << s.error().message;
      }
    }
  }
}

TEST_F(YumSourceTest, OpenSizeAndOpenChecksumCheckedStreamedOrReadBack) {
  const std::string xml = primary(pkg("a", "a.rpm", std::string(64, 'a')));
  for (bool streamed : {true, false}) {
    SCOPED_TRACE(streamed ? "streamed" : "read back");
    FakeContext c(dir_.path());
    std::string url = publish_primary(c, {"gzip"}, xml, sha256_hex("other"));
    c.stream_piece = 16;
    if (!streamed) c.unchanged.insert(url);
    auto s = snap_in(c);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find(url + " (decompressed)"), std::string::npos)
        << s.error().message;
    publish_primary(c, {"gzip"}, xml, "", xml.size() + 1);
    s = snap_in(c);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find(url + ": decompressed size"), std::string::npos)
        << s.error().message;
    publish_primary(c, {"gzip"}, xml);
    s = snap_in(c);
    ASSERT_TRUE(s.ok()) << s.error().message;
    EXPECT_EQ(c.opens[url], streamed ? 0 : 3);  // read back once by each of the three runs
  }
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

#include "sources/opam/opam_source.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>

#include "core/digest.h"
#include "sources/opam/opam_index.h"
#include "support/fake_snapshot_context.h"
#include "support/temp_dir.h"

namespace depot {
namespace {

using FakeContext = testing::FakeSnapshotContext;

// A plain ustar archive (libarchive reads it as it reads index.tar.gz).
struct TarMember {
  std::string name, body;
  char type = '0';  // '0' file, '5' directory, '2' symlink
};

std::string tar(const std::vector<TarMember> &members) {
  std::string out;
  for (const auto &m : members) {
    char h[512] = {};
    std::snprintf(h, 100, "%s", m.name.c_str());
    std::snprintf(h + 100, 8, "%07o", m.type == '5' ? 0755 : 0644);
    std::snprintf(h + 108, 8, "%07o", 0);
    std::snprintf(h + 116, 8, "%07o", 0);
    std::snprintf(h + 124, 12, "%011o", static_cast<unsigned>(m.body.size()));
    std::snprintf(h + 136, 12, "%011o", 0);
    h[156] = m.type;
    if (m.type == '2') std::snprintf(h + 157, 100, "%s", "/etc/passwd");
    std::memcpy(h + 257, "ustar\00000", 8);
    std::memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (unsigned char c : h) sum += c;
    std::snprintf(h + 148, 8, "%06o", sum);
    out.append(h, 512);
    out += m.body;
    out.append((512 - m.body.size() % 512) % 512, '\0');
  }
  out.append(1024, '\0');
  return out;
}

Digests digests_of(const std::string &body) {
  Hasher h(Hasher::kAllAlgorithms);
  h.update(body);
  return h.finish();
}

std::string opam_file(const std::string &src, const Digests &d, bool md5_first = false) {
  std::string sha = "\"sha256=" + d.sha256 + "\"", md5 = "\"md5=" + d.md5 + "\"";
  return "opam-version: \"2.0\"\nurl {\n  src: \"" + src + "\"\n  checksum: [" +
         (md5_first ? md5 + " " + sha : sha + " " + md5) + "]\n}\n";
}

class OpamSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a = digests_of(kA);
    b = digests_of(kB);
    ctx.files["http://up/repo"] = "opam-version: \"2.0\"\narchive-mirrors: \"cache\"\n";
    set_index({{"packages/a/a.1/opam", opam_file("https://src.example/a-1.tgz", a)},
               {"packages/b/b.1/opam", opam_file("https://src.example/b-1.tgz", b, true)}});
    ctx.files["http://up/cache/sha256/" + a.sha256.substr(0, 2) + "/" + a.sha256] = kA;
    ctx.files["https://src.example/b-1.tgz"] = kB;  // not in the upstream cache
  }

  void set_index(std::vector<TarMember> members) {
    members.insert(members.begin(), {{"./", "", '5'}, {"./repo", "opam-version: \"2.0\"\n"}});
    ctx.files["http://up/index.tar.gz"] = tar(members);
  }

  Result<Snapshot> snap() {
    SourceOptions opts;
    opts.upstream = "http://up/";
    auto src = make_source("opam", opts);
    if (!src.ok()) return src.error();
    return (*src)->snapshot(ctx);
  }

  static constexpr const char *kA = "archive a bytes";
  static constexpr const char *kB = "archive b bytes";
  Digests a, b;
  testing::TempDir dir_;
  FakeContext ctx{dir_.path()};
};

TEST_F(OpamSourceTest, ArchivesByFirstChecksumThenRepoAndIndexLast) {
  auto s = snap();
  ASSERT_TRUE(s.ok()) << s.error().message;
  std::vector<std::pair<std::string, Stage>> got;
  for (const auto &e : s->entries) got.emplace_back(e.path.str(), e.stage);
  const std::string a_rel = "cache/sha256/" + a.sha256.substr(0, 2) + "/" + a.sha256;
  const std::string b_rel = "cache/md5/" + b.md5.substr(0, 2) + "/" + b.md5;
  // a is in the upstream cache (first round), b only at its src (second round).
  std::vector<std::pair<std::string, Stage>> want = {{a_rel, Stage::kBlob},
                                                     {b_rel, Stage::kBlob},
                                                     {"repo", Stage::kRoot},
                                                     {"index.tar.gz", Stage::kRoot}};
  EXPECT_EQ(got, want);
  EXPECT_EQ(s->entries[1].url,
            "https://src.example/b-1.tgz");  // missing upstream: from src
  EXPECT_EQ(s->entries[0].url, "http://up/" + a_rel);
  EXPECT_EQ(s->entries[1].digests.md5, b.md5);
  EXPECT_EQ(s->entries[1].digests.sha256, b.sha256);
  EXPECT_TRUE((s->entries[1].content != nullptr));
}

TEST_F(OpamSourceTest, UrlsTxtIsAnIndexWhenUpstreamHasIt) {
  ctx.files["http://up/urls.txt"] = "packages/a/a.1/opam 0123 0644\n";
  auto s = snap();
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->entries[2].path.str(), "urls.txt");
  EXPECT_EQ(s->entries[2].stage, Stage::kIndex);
}

TEST_F(OpamSourceTest, CommittedArchivesAreNotFetchedAgain) {
  const std::string a_rel = "cache/sha256/" + a.sha256.substr(0, 2) + "/" + a.sha256;
  const std::string b_rel = "cache/md5/" + b.md5.substr(0, 2) + "/" + b.md5;
  ctx.committed_files[a_rel] = "x";
  ctx.committed_files[b_rel] = "y";
  auto s = snap();
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(ctx.asked, (std::vector<std::string>{"http://up/repo", "http://up/index.tar.gz",
                                                 "http://up/urls.txt"}));
  EXPECT_FALSE((s->entries[0].content != nullptr));
  EXPECT_EQ(s->entries[0].digests.md5, b.md5);
}

TEST_F(OpamSourceTest, CorruptArchiveFailsNamingPackageAndArchive) {
  ctx.files["http://up/cache/sha256/" + a.sha256.substr(0, 2) + "/" + a.sha256] = "corrupt";
  auto s = snap();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kDigestMismatch) << s.error().message;
  EXPECT_NE(s.error().message.find("package \"a.1\": archive \"a-1.tgz\""), std::string::npos)
      << s.error().message;
}

TEST_F(OpamSourceTest, Md5IsVerifiedBesideSha256) {
  Digests wrong = a;
  wrong.md5 = std::string(32, '0');
  set_index({{"packages/a/a.1/opam", opam_file("https://src.example/a-1.tgz", wrong)}});
  auto s = snap();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("package \"a.1\""), std::string::npos) << s.error().message;
}

TEST_F(OpamSourceTest, NonHttpSrcIsRefusedNamingThePackage) {
  set_index({{"packages/b/b.1/opam", opam_file("file:///etc/passwd", b)}});
  auto s = snap();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kUnsafePath);
  EXPECT_NE(s.error().message.find("package \"b.1\""), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("file:///etc/passwd"), std::string::npos);
  for (const auto &u : ctx.asked) EXPECT_NE(u, "file:///etc/passwd");
}

TEST_F(OpamSourceTest, HostileTarEntriesAreRefusedNamingThePackage) {
  for (TarMember bad :
       {TarMember{"packages/evil/evil.1/../../../x", "x"}, TarMember{"/etc/evil", "x"},
        TarMember{"packages/evil/evil.1/files/link", "", '2'}}) {
    set_index({bad});
    auto s = snap();
    ASSERT_FALSE(s.ok()) << bad.name;
    EXPECT_EQ(s.error().code, ErrorCode::kUnsafePath) << s.error().message;
    if (bad.name.starts_with("packages")) {
      EXPECT_NE(s.error().message.find("evil.1"), std::string::npos) << s.error().message;
    }
  }
}

TEST_F(OpamSourceTest, MalformedOpamFileNamesThePackage) {
  set_index({{"packages/c/c.2/opam", "url { src: \"x\""}});
  auto s = snap();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kParse);
  EXPECT_NE(s.error().message.find("package \"c.2\""), std::string::npos) << s.error().message;
}

TEST_F(OpamSourceTest, ConflictingChecksumsForOneCachePathFail) {
  Digests other = b;
  other.md5 = a.md5;  // first-listed md5 of a, with b's sha256
  set_index({{"packages/a/a.1/opam", opam_file("https://src.example/a-1.tgz", a, true)},
             {"packages/b/b.1/opam", opam_file("https://src.example/b-1.tgz", other, true)}});
  auto s = snap();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("conflicting sha256"), std::string::npos) << s.error().message;
}

TEST(OpamSourceOptions, UpstreamMustBeHttp) {
  SourceOptions opts;
  opts.upstream = "file:///srv/opam";
  EXPECT_FALSE(make_source("opam", opts).ok());
  opts.upstream = "https://opam.ocaml.org";
  EXPECT_TRUE(make_source("opam", opts).ok());
}

}  // namespace
}  // namespace depot

// The apt source against an in-memory upstream (no signatures: those are covered by
// gpgv_test and the integration scenarios).

#include "sources/apt/apt_source.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "core/digest.h"
#include "support/fake_snapshot_context.h"
#include "support/temp_dir.h"

namespace depot::apt {
namespace {

const std::string U = "http://u/debian";

std::string sha256(const std::string& s) {
  Hasher h(digest_bit(DigestAlgo::kSha256));
  h.update(s);
  return h.finish().sha256;
}

class AptSourceTest : public ::testing::Test {
 protected:
  // Publishes dists/s with one Packages file (and Release listing it, by-hash when asked).
  void publish(const std::string& packages, bool by_hash, bool lie = false) {
    std::string listed = lie ? packages + "x" : packages;
    std::string release = std::string("Suite: s\nDate: ") + date_ +
                          "\nArchitectures: amd64\nComponents: main\n" +
                          (by_hash ? "Acquire-By-Hash: yes\n" : "") + "SHA256:\n " +
                          sha256(listed) + " " + std::to_string(listed.size()) +
                          " main/binary-amd64/Packages\n " + std::string(64, 'f') +
                          " 7 main/binary-amd64/Packages.gz\n";
    ctx_.files[U + "/dists/s/Release"] = release;
    ctx_.files[U + "/dists/s/main/binary-amd64/Packages"] = packages;
  }
  Result<Snapshot> snapshot(std::vector<std::string> archs = {"amd64"}, bool force = false) {
    SourceOptions o;
    if (force) o.values["allow-older"] = "yes";
    o.upstream = U;
    o.lists["dist"] = {"s"};
    o.lists["arch"] = archs;
    auto src = make_apt_source(o);
    if (!src.ok()) return src.error();
    return (*src)->snapshot(ctx_);
  }
  std::vector<std::string> paths(const Snapshot& s) {
    std::vector<std::string> out;
    for (const auto& e : s.entries) out.push_back(e.path.str());
    return out;
  }
  testing::TempDir dir_;
  testing::FakeSnapshotContext ctx_{dir_.path()};
  std::string date_ = "Sat, 21 Nov 2026 22:55:15 UTC";
};

const std::string kPackages = "Package: a\nFilename: pool/main/a/a.deb\nSize: 3\nSHA256: " +
                              std::string(64, 'a') + "\n";

TEST_F(AptSourceTest, PoolThenIndexesThenRootWithByHash) {
  publish(kPackages, true);
  auto s = snapshot();
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  const std::string by_hash = "dists/s/main/binary-amd64/by-hash/SHA256/" + sha256(kPackages);
  std::map<std::string, Stage> stages;
  for (const auto& e : s->entries) stages[e.path.str()] = e.stage;
  EXPECT_EQ(stages, (std::map<std::string, Stage>{{"pool/main/a/a.deb", Stage::kBlob},
                                                  {by_hash, Stage::kIndex},
                                                  {"dists/s/main/binary-amd64/Packages", Stage::kIndex},
                                                  {"dists/s/Release", Stage::kRoot}}));
  for (const auto& e : s->entries) {
    if (e.path.str() == by_hash) {
      EXPECT_TRUE((e.content != nullptr));
      EXPECT_EQ(e.digests.sha256, sha256(kPackages));
    }
  }
  // Packages.gz is listed but absent upstream: asked for, skipped.
  EXPECT_NE(std::find(ctx_.asked.begin(), ctx_.asked.end(),
                      U + "/dists/s/main/binary-amd64/Packages.gz"),
            ctx_.asked.end());
}

TEST_F(AptSourceTest, IndexNotMatchingReleaseIsAnErrorNamingIt) {
  publish(kPackages, false, /*lie=*/true);
  auto s = snapshot();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("main/binary-amd64/Packages"), std::string::npos)
      << s.error().message;
}

TEST_F(AptSourceTest, MissingPackagesForARequestedArchitectureIsAnError) {
  publish(kPackages, false);
  ctx_.files.erase(U + "/dists/s/main/binary-amd64/Packages");
  auto s = snapshot();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("main/binary-amd64/Packages"), std::string::npos);
  publish(kPackages, false);
  auto other = snapshot({"arm64"});
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.error().message.find("arm64"), std::string::npos);
}

TEST_F(AptSourceTest, NoRootAtAllIsAnError) {
  auto s = snapshot();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("dists/s/Release"), std::string::npos);
}

TEST_F(AptSourceTest, HostilePoolPathRefused) {
  publish("Package: a\nFilename: ../../outside\nSize: 3\nSHA256: " + std::string(64, 'a') + "\n",
          false);
  auto s = snapshot();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kUnsafePath);
}

TEST_F(AptSourceTest, RootOlderThanTheMirroredOneIsRefusedUnlessForced) {
  publish(kPackages, false);
  ctx_.committed_files["dists/s/Release"] =
      "Suite: s\nDate: Sun, 22 Nov 2026 06:00:00 UTC\nSHA256:\n " + std::string(64, 'a') +
      " 1 main/binary-amd64/Packages\n";
  auto s = snapshot();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("older than the mirrored Release"), std::string::npos)
      << s.error().message;
  EXPECT_NE(s.error().message.find("http://u/debian/dists/s/Release"), std::string::npos);
  EXPECT_TRUE(snapshot({"amd64"}, /*force=*/true).ok());
  date_ = "Sun, 22 Nov 2026 06:00:00 UTC";  // the same generation again: fine
  publish(kPackages, false);
  EXPECT_TRUE(snapshot().ok());
}

TEST(AptSourceOptions, BadOptionsRefused) {
  SourceOptions o;
  o.upstream = U;
  EXPECT_FALSE(make_apt_source(o).ok());  // no --dist
  o.lists["dist"] = {"../x"};
  EXPECT_FALSE(make_apt_source(o).ok());
  o.lists["dist"] = {"s"};
  o.values["keyring"] = "/nonexistent/key.gpg";
  EXPECT_FALSE(make_apt_source(o).ok());
}

}  // namespace
}  // namespace depot::apt

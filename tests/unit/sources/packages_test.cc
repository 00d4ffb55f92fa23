#include "sources/apt/packages.h"

#include <gtest/gtest.h>

#include <fstream>

#include "support/temp_dir.h"

namespace depot::apt {
namespace {

const std::string kSha(64, 'a'), kSha2(64, 'b'), kMd5(32, 'c');

class Pool : public ::testing::Test {
 protected:
  Status feed(const std::string& text) {
    auto in = memory_source(std::make_shared<const std::string>(text));
    return collector_.add_packages_file(*in, "http://u/Packages");
  }
  Status feed_sources(const std::string& text) {
    auto in = memory_source(std::make_shared<const std::string>(text));
    return collector_.add_sources_file(*in, "http://u/Sources");
  }
  static std::string stanza(const std::string& file, const std::string& size = "10",
                            const std::string& sha = kSha) {
    return "Package: p\nFilename: " + file + "\nSize: " + size + "\nSHA256: " + sha + "\n\n";
  }

  std::vector<Entry> entries_;
  PoolCollector collector_{"http://u/debian", entries_};
};

TEST_F(Pool, BinaryStanzasBecomeBlobs) {
  ASSERT_TRUE(feed(stanza("pool/main/a/a_1+b~c_all.deb") + stanza("pool/main/b/b.deb", "3")).ok());
  ASSERT_EQ(entries_.size(), 2u);
  EXPECT_EQ(entries_[0].path.str(), "pool/main/a/a_1+b~c_all.deb");
  EXPECT_EQ(entries_[0].url, "http://u/debian/pool/main/a/a_1+b~c_all.deb");
  EXPECT_EQ(entries_[0].digests.sha256, kSha);
  EXPECT_EQ(entries_[1].size, 3u);
  EXPECT_EQ(entries_[1].stage, Stage::kBlob);
}

TEST_F(Pool, SameFileInTwoIndexesOnceAndConflictsRefused) {
  ASSERT_TRUE(feed(stanza("pool/x.deb")).ok());
  ASSERT_TRUE(feed(stanza("pool/x.deb")).ok());
  EXPECT_EQ(entries_.size(), 1u);
  Status s = feed(stanza("pool/x.deb", "10", kSha2));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("pool/x.deb"), std::string::npos);
}

TEST_F(Pool, HostileFilenamesRefused) {
  for (const char* bad : {"../../etc/passwd", "/etc/passwd", "pool/../../x", "dists/s/InRelease",
                          ".depot/state.db"}) {
    Status s = feed(stanza(bad));
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.error().message.find("http://u/Packages"), std::string::npos) << s.error().message;
  }
  EXPECT_TRUE(entries_.empty());
}

TEST_F(Pool, MissingFieldsNameTheParagraph) {
  for (std::string bad : {std::string("Package: p\nSize: 1\nSHA256: ") + kSha + "\n",
                          std::string("Package: p\nFilename: pool/a.deb\nSHA256: ") + kSha + "\n",
                          std::string("Package: p\nFilename: pool/a.deb\nSize: 1\n"),
                          std::string("Package: p\nFilename: pool/a.deb\nSize: x\nSHA256: ") + kSha + "\n",
                          std::string("Package: p\nFilename: pool/a.deb\nSize: 1\nSHA256: 12\n")}) {
    Status s = feed("Package: ok\nFilename: pool/ok.deb\nSize: 1\nSHA256: " + kSha + "\n\n" + bad);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.error().message.find("line 6"), std::string::npos) << s.error().message;
  }
}

TEST_F(Pool, SourcesListEveryFileOfThePackage) {
  std::string text = "Package: s\nDirectory: pool/main/s/s\nFiles:\n " + kMd5 +
                     " 5 s_1.dsc\n " + kMd5 + " 9 s_1.tar.xz\nChecksums-Sha256:\n " + kSha +
                     " 5 s_1.dsc\n " + kSha2 + " 9 s_1.tar.xz\n";
  ASSERT_TRUE(feed_sources(text).ok());
  ASSERT_EQ(entries_.size(), 2u);
  EXPECT_EQ(entries_[1].path.str(), "pool/main/s/s/s_1.tar.xz");
  EXPECT_EQ(entries_[1].digests.sha256, kSha2);
  EXPECT_EQ(entries_[1].digests.md5, kMd5);
  EXPECT_FALSE(feed_sources("Package: s\nDirectory: pool\nFiles:\n " + kMd5 + " 5 ../x\n").ok());
  EXPECT_FALSE(feed_sources("Package: s\nDirectory: ../pool\nFiles:\n " + kMd5 + " 5 x\n").ok());
}

}  // namespace
}  // namespace depot::apt

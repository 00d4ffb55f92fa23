#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "sources/crates/git_index.h"
#include "support/temp_dir.h"

namespace depot {
namespace {

namespace fs = std::filesystem;
using crates::crate_of_index_path;
using crates::enumerate_git_index;

const std::string kUrl = "file:///up/index.git";

TEST(CratesGitIndexPath, NamesTheCrateOfEachIndexFile) {
  for (auto [path, name] : {std::pair{"1/a", "a"},
                            {"2/xy", "xy"},
                            {"3/s/sub", "sub"},
                            {"mu/lt/multi-ver", "multi-ver"},
                            {"se/rd/serde_json", "serde_json"}}) {
    auto got = crate_of_index_path(path, kUrl);
    ASSERT_TRUE(got.ok()) << got.error().message;
    EXPECT_EQ(got->value_or(""), name) << path;
  }
}

TEST(CratesGitIndexPath, SkipsConfigAndDotFiles) {
  for (auto path : {"config.json", ".gitattributes", ".github/workflows/x.yml", "ab/.keep"}) {
    auto got = crate_of_index_path(path, kUrl);
    ASSERT_TRUE(got.ok()) << path << ": " << got.error().message;
    EXPECT_FALSE(got->has_value()) << path;
  }
}

TEST(CratesGitIndexPath, RefusesPathsThatAreNoIndexFileNamingUrlAndPath) {
  for (auto path : {"README.md", "3/b/abc", "ab/cd/xyz", "1/ab", "ab/cd/ABCD", "ab/cd/ef/abcdef",
                    "2/-x", "x/y"}) {
    auto got = crate_of_index_path(path, kUrl);
    ASSERT_FALSE(got.ok()) << path;
    EXPECT_EQ(got.error().code, ErrorCode::kParse);
    EXPECT_NE(got.error().message.find(kUrl), std::string::npos) << got.error().message;
    EXPECT_NE(got.error().message.find(path), std::string::npos) << got.error().message;
  }
}

// A git repository built with the git CLI; each commit() records the work tree.
class GitRepo {
 public:
  explicit GitRepo(fs::path dir) : dir_(std::move(dir)) {
    fs::create_directories(dir_);
    git("init -q -b master");
  }
  void write(const std::string& rel, const std::string& body) {
    fs::create_directories((dir_ / rel).parent_path());
    std::ofstream(dir_ / rel, std::ios::binary) << body;
  }
  void commit() { git("add -A && git -c user.name=t -c user.email=t@t commit -q -m gen"); }
  std::string url() const { return "file://" + dir_.string(); }

 private:
  void git(const std::string& args) {
    std::string cmd = "cd '" + dir_.string() + "' && git " + args + " >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  fs::path dir_;
};

class CratesGitIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    up_.write("config.json", "{\"dl\":\"https://static.example/crates\"}\n");
    up_.write(".github/x.yml", "x\n");
    up_.write("1/a", "{}\n");
    up_.write("3/s/sub", "{}\n");
    up_.write("mu/lt/multi-ver", "{}\n");
    up_.commit();
  }
  // Crates of the index; `received` gets the objects fetched (from the log line).
  Result<std::vector<std::string>> enumerate(const std::string& url, uint64_t* received = nullptr) {
    char* buf = nullptr;
    size_t len = 0;
    FILE* out = open_memstream(&buf, &len);
    Result<std::vector<std::string>> got = [&] {
      Logger logger(LogLevel::kInfo, LogFormat::kJson, out);
      return enumerate_git_index(url, cache_, logger);
    }();
    std::fclose(out);
    std::string log(buf, len);
    std::free(buf);
    auto at = log.find("\"objects_received\":");
    if (received && at != std::string::npos) *received = std::stoull(log.substr(at + 19));
    return got;
  }

  testing::TempDir tmp_;
  GitRepo up_{tmp_.path() / "up"};
  fs::path cache_ = tmp_.path() / "state" / "crates-git-index";
};

TEST_F(CratesGitIndexTest, ListsEveryCrateOfHeadAndFetchesOnlyNewCommitsLater) {
  uint64_t first = 0, second = 0, third = 99;
  auto got = enumerate(up_.url(), &first);
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(*got, (std::vector<std::string>{"a", "multi-ver", "sub"}));
  EXPECT_GE(first, 9u);  // commit, 6 trees, 5 blobs

  up_.write("2/xy", "{}\n");
  up_.commit();
  got = enumerate(up_.url(), &second);
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(*got, (std::vector<std::string>{"a", "multi-ver", "sub", "xy"}));
  EXPECT_LE(second, 4u)
      << "a second run fetched more than the new commit";  // commit, 2 trees, blob
  EXPECT_GE(second, 1u);

  got = enumerate(up_.url(), &third);
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(third, 0u);
}

TEST_F(CratesGitIndexTest, AnUnusableCacheIsRecreated) {
  fs::create_directories(cache_);
  std::ofstream(cache_ / "HEAD") << "garbage";
  auto got = enumerate(tmp_.path().string() + "/up");  // a plain local path works too
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(got->size(), 3u);
}

TEST_F(CratesGitIndexTest, AMalformedTreePathFailsNamingUrlAndPath) {
  up_.write("ab/cd/wrong", "{}\n");
  up_.commit();
  auto got = enumerate(up_.url());
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, ErrorCode::kParse);
  EXPECT_NE(got.error().message.find(up_.url()), std::string::npos) << got.error().message;
  EXPECT_NE(got.error().message.find("ab/cd/wrong"), std::string::npos) << got.error().message;
}

TEST_F(CratesGitIndexTest, AnUnreachableRepositoryFailsNamingTheUrl) {
  std::string url = "file://" + (tmp_.path() / "missing").string();
  auto got = enumerate(url);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, ErrorCode::kUnreachable);
  EXPECT_NE(got.error().message.find(url), std::string::npos) << got.error().message;
}

}  // namespace
}  // namespace depot

#include "pool/pdiff.h"

#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "core/digest.h"
#include "core/file_io.h"
#include "pool/ed_patch.h"
#include "support/temp_dir.h"

namespace depot::pool {
namespace {

namespace fs = std::filesystem;
using depot::testing::TempDir;

std::string packages(int version_of_p5, int n = 400) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    int v = i == 5 ? version_of_p5 : 1;
    out += "Package: p" + std::to_string(i) + "\nVersion: " + std::to_string(v) +
           "\nDescription: x\n\n";
  }
  return out;
}

struct ParsedIndex {
  std::string current;
  std::vector<std::vector<std::string>> history, patches, download;  // fields of each line
};

ParsedIndex parse_index(const std::string& text) {
  ParsedIndex out;
  std::istringstream in(text);
  std::vector<std::vector<std::string>>* section = nullptr;
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string x; words >> x;) w.push_back(x);
    if (line.starts_with("SHA256-Current:"))
      out.current = w.at(1);
    else if (line == "SHA256-History:")
      section = &out.history;
    else if (line == "SHA256-Patches:")
      section = &out.patches;
    else if (line == "SHA256-Download:")
      section = &out.download;
    else if (line.starts_with(" ") && section)
      section->push_back(w);
  }
  return out;
}

class PdiffTest : public ::testing::Test {
 protected:
  // Publishes `text` as dists/<suite>/main/binary-amd64/Packages and records it.
  PdiffUpdate publish(PdiffStore& store, const std::string& text) {
    const fs::path dists = dir_.path() / "dists" / "r";
    fs::create_directories(dists / "main" / "binary-amd64");
    EXPECT_TRUE(write_whole_file(dists / "main" / "binary-amd64" / "Packages", text).ok());
    versions_[sha256_hex(text)] = text;
    auto u = store.update("r", dists, [] { return true; });
    EXPECT_TRUE(u.ok()) << u.error().to_string();
    return u.ok() ? *u : PdiffUpdate{};
  }
  std::map<std::string, std::string> files(PdiffStore& store, const std::string& text) {
    Digests d;
    d.sha256 = sha256_hex(text);
    std::map<std::string, std::string> out;
    for (const IndexExtra& e : store.files_for("r", "main/binary-amd64/", d)) {
      EXPECT_EQ(e.in_release, e.path == "Packages.diff/Index") << e.path;
      out[e.path] = *e.content;
    }
    return out;
  }
  // Every chain of the Index, from each History start, applies to Current; returns the links.
  size_t check_chains(const std::map<std::string, std::string>& f) {
    ParsedIndex idx = parse_index(f.at("Packages.diff/Index"));
    EXPECT_EQ(idx.history.size(), idx.patches.size());
    EXPECT_EQ(idx.history.size(), idx.download.size());
    for (size_t start = 0; start < idx.history.size(); ++start) {
      std::string text = versions_.at(idx.history[start].at(0));
      for (size_t i = start; i < idx.patches.size(); ++i) {
        const std::string& gz = f.at("Packages.diff/" + idx.download[i].at(2));
        EXPECT_EQ(sha256_hex(gz), idx.download[i].at(0));
        auto patch = gunzip_bytes(gz, "patch");
        EXPECT_TRUE(patch.ok());
        EXPECT_EQ(sha256_hex(*patch), idx.patches[i].at(0));
        auto next = apply_ed_patch(text, *patch);
        EXPECT_TRUE(next.ok());
        text = *next;
      }
      EXPECT_EQ(sha256_hex(text), idx.current);
    }
    return idx.patches.size();
  }
  TempDir dir_;
  Logger logger_{LogLevel::kError};
  std::map<std::string, std::string> versions_;
};

TEST_F(PdiffTest, ChainGrowsIsBoundedAndLinksAreBuiltOnce) {
  PdiffStore store(dir_.path() / "state", 3, logger_);
  EXPECT_EQ(publish(store, packages(1)).indexes_changed, 1u);
  EXPECT_TRUE(files(store, packages(1)).empty());  // one version: nothing to patch
  PdiffUpdate u = publish(store, packages(2));
  EXPECT_EQ(u.links_built, 1u);
  auto f = files(store, packages(2));
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(check_chains(f), 1u);
  EXPECT_TRUE(files(store, packages(1)).empty());              // Current of another version
  EXPECT_EQ(publish(store, packages(2)).indexes_changed, 0u);  // unchanged: index kept
  for (int v = 3; v <= 6; ++v) EXPECT_EQ(publish(store, packages(v)).links_built, 1u);
  f = files(store, packages(6));
  EXPECT_EQ(check_chains(f), 3u);  // bounded by generations
  // Back to an earlier version: its link is new, older links are reused.
  u = publish(store, packages(5));
  EXPECT_EQ(u.links_built, 1u);
  EXPECT_EQ(check_chains(files(store, packages(5))), 3u);
  // Texts of versions no history names are gone; no diff input is left behind.
  auto count = [](const fs::path& d) {
    return std::distance(fs::directory_iterator(d), fs::directory_iterator());
  };
  EXPECT_EQ(count(dir_.path() / "state" / "texts"), 3);  // history: v4 v5 v6 v5
  EXPECT_EQ(count(dir_.path() / "state" / "tmp"), 0);
  // Patch names are unique and increasing.
  ParsedIndex idx = parse_index(files(store, packages(5)).at("Packages.diff/Index"));
  for (size_t i = 1; i < idx.patches.size(); ++i) {
    EXPECT_LT(idx.patches[i - 1].at(2), idx.patches[i].at(2));
  }
}

TEST_F(PdiffTest, DamagedLinkIsDroppedWithOlderOnes) {
  PdiffStore store(dir_.path() / "state", 14, logger_);
  for (int v = 1; v <= 3; ++v) publish(store, packages(v));
  const fs::path links = dir_.path() / "state" / "links";
  const fs::path first = links / (sha256_hex(packages(1)) + "-" + sha256_hex(packages(2)) + ".gz");
  ASSERT_TRUE(fs::exists(first));
  auto f = files(store, packages(3));
  EXPECT_EQ(check_chains(f), 2u);
  // Damaged in place: the recorded sha256 no longer matches, nothing is published.
  ASSERT_TRUE(write_whole_file(first, gzip_bytes("1d\n")).ok());
  EXPECT_TRUE(files(store, packages(3)).empty());
  // The next version drops it (and keeps the links after it).
  PdiffUpdate u = publish(store, packages(4));
  EXPECT_EQ(u.links_dropped, 1u);
  f = files(store, packages(4));
  EXPECT_EQ(check_chains(f), 2u);
  EXPECT_EQ(parse_index(f.at("Packages.diff/Index")).history.at(0).at(0), sha256_hex(packages(2)));
}

TEST_F(PdiffTest, PublicationIsDueUntilTheTreeHasTheIndex) {
  PdiffStore store(dir_.path() / "state", 14, logger_);
  const fs::path dists = dir_.path() / "dists" / "r";
  publish(store, packages(1));
  EXPECT_FALSE(store.publication_due("r", dists));  // nothing to publish yet
  publish(store, packages(2));
  EXPECT_TRUE(store.publication_due("r", dists));
  const auto f = files(store, packages(2));
  fs::create_directories(dists / "main" / "binary-amd64" / "Packages.diff");
  ASSERT_TRUE(write_whole_file(dists / "main" / "binary-amd64" / "Packages.diff" / "Index",
                               f.at("Packages.diff/Index"))
                  .ok());
  EXPECT_FALSE(store.publication_due("r", dists));
  publish(store, packages(2));  // unchanged: still nothing due (a re-run after a crash too)
  EXPECT_FALSE(store.publication_due("r", dists));
}

// A publication that changed one index builds a link for that index only.
TEST_F(PdiffTest, OnlyChangedIndexesGetLinks) {
  PdiffStore store(dir_.path() / "state", 14, logger_);
  const fs::path dists = dir_.path() / "dists" / "r";
  auto put = [&](const char* arch, const std::string& text) {
    fs::create_directories(dists / "main" / arch);
    ASSERT_TRUE(write_whole_file(dists / "main" / arch / "Packages", text).ok());
  };
  auto run = [&] {
    auto u = store.update("r", dists, [] { return true; });
    EXPECT_TRUE(u.ok());
    return u.ok() ? *u : PdiffUpdate{};
  };
  put("binary-amd64", packages(1));
  put("binary-arm64", packages(1, 300));
  EXPECT_EQ(run().indexes_changed, 2u);
  put("binary-arm64", packages(2, 300));
  PdiffUpdate u = run();
  EXPECT_EQ(u.indexes_changed, 1u);
  EXPECT_EQ(u.links_built, 1u);
  EXPECT_TRUE(
      fs::exists(dir_.path() / "state" / "repos" / "r" / "main" / "binary-arm64" / "index"));
  EXPECT_FALSE(
      fs::exists(dir_.path() / "state" / "repos" / "r" / "main" / "binary-amd64" / "index"));
  EXPECT_EQ(run().indexes_changed, 0u);
}

TEST_F(PdiffTest, SupersededRunStops) {
  PdiffStore store(dir_.path() / "state", 14, logger_);
  const fs::path dists = dir_.path() / "dists" / "r";
  fs::create_directories(dists / "main" / "binary-amd64");
  ASSERT_TRUE(write_whole_file(dists / "main" / "binary-amd64" / "Packages", packages(1)).ok());
  auto u = store.update("r", dists, [] { return false; });
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->superseded);
  EXPECT_EQ(u->indexes_changed, 0u);
}

TEST_F(PdiffTest, GzipRoundTrip) {
  auto back = gunzip_bytes(gzip_bytes("hello\n"), "x");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, "hello\n");
  EXPECT_FALSE(gunzip_bytes("not gzip", "x").ok());
  EXPECT_EQ(pdiff_patch_name(0), "1970-01-01-0000.00");
}

}  // namespace
}  // namespace depot::pool

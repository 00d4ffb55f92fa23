// The checks across a depot.toml's jobs (src/site/site_config_checks.cc).

#include <gtest/gtest.h>

#include <filesystem>

#include "site/site_config.h"
#include "site_config_testing.h"
#include "support/temp_dir.h"

namespace depot::site {
namespace {

TEST(SiteConfigTest, TwoJobsOnOneDirectoryAreRefused) {
  std::string p = problems("data_root = \"/srv\"\n" + job("a", "dir = \"same\"\n\n") +
                           job("b", "dir = \"/srv/same/\"\n\n") +
                           job("c", "dir = \"same/inner\"\n"));
  // At the dir keys' lines.
  EXPECT_NE(p.find(":14: mirror 'b'.dir: the same directory as mirror 'a' (line 7): /srv/same\n"),
            std::string::npos)
      << p;
  EXPECT_NE(p.find(":21: mirror 'c'.dir: overlaps the directory of mirror 'a' (line 7)"),
            std::string::npos)
      << p;
}

TEST(SiteConfigTest, AJobMayNotHoldOrLieInTheProcesssOwnDirectories) {
  std::string p = problems("data_root = \"/srv\"\n" + job("all", "dir = \".\"\n") +
                           job("sub", "dir = \"hosted/sub\"\n") + "[publish]\n");
  EXPECT_NE(p.find(":7: mirror 'all'.dir: overlaps state_dir /srv/.depot-site: /srv"),
            std::string::npos)
      << p;
  EXPECT_NE(p.find(":7: mirror 'all'.dir: overlaps the cache directory /srv/.depot-cache"),
            std::string::npos)
      << p;
  EXPECT_NE(p.find(":13: mirror 'sub'.dir: overlaps where [publish] publishes /srv/hosted"),
            std::string::npos)
      << p;
  p = problems(R"(data_root = "/srv"
state_dir = "/srv/deb/state"
[[mirror]]
name = "deb"
registry = "conda"
upstream = "http://x.example/a"
interval = "1h"
)");
  EXPECT_NE(p.find("mirror 'deb'.dir: overlaps state_dir /srv/deb/state"), std::string::npos) << p;
}

TEST(SiteConfigTest, DirectoriesAreComparedThroughSymlinks) {
  testing::TempDir tmp;
  namespace fs = std::filesystem;
  const fs::path root = fs::canonical(tmp.path());
  fs::create_directories(root / "data" / "a");
  fs::create_directories(root / "data" / "c");
  fs::create_directory_symlink(root / "data" / "a", root / "link");
  fs::create_directory_symlink(root / "data" / "c", root / "clink");
  const std::string head = "data_root = \"" + (root / "data").string() + "\"\nstate_dir = \"" +
                           (root / "clink" / "state").string() + "\"\n";
  // a: line 3, b: line 8 (its dir line 13), c: line 14.
  auto c = parse_site_config(
      head + job("a") + job("b", "dir = \"" + (root / "link").string() + "\"\n") + job("c"),
      root / "depot.toml");
  ASSERT_FALSE(c.ok());
  const std::string& p = c.error().message;
  EXPECT_NE(
      p.find(":13: mirror 'b'.dir: the same directory as mirror 'a' (line 4): " +
             (root / "link").string() + " (resolves to " + (root / "data" / "a").string() + ")"),
      std::string::npos)
      << p;
  EXPECT_NE(
      p.find(":15: mirror 'c'.dir: overlaps state_dir " + (root / "clink" / "state").string() +
             " (resolves to " + (root / "data" / "c" / "state").string() +
             "): " + (root / "data" / "c").string()),
      std::string::npos)
      << p;
  EXPECT_NE(p.find(":15: mirror 'c'.dir: overlaps log_dir "), std::string::npos) << p;
  EXPECT_EQ(count(p, "\n") + 1, 3) << p;
}

TEST(SiteConfigTest, NothingIsServedWhereTheServerAnswersItself) {
  std::string p =
      problems("data_root = \"/srv\"\n" + job("_depot") + job("metrics") +
               job("a", "dir = \"_depot/a\"\n") + job("b", "dir = \"/srv/metrics/\"\n"));
  EXPECT_NE(p.find(":3: mirror.name: '_depot': /_depot/ is the server's own"), std::string::npos)
      << p;
  EXPECT_NE(p.find(":8: mirror.name: 'metrics': /metrics is the server's own"), std::string::npos)
      << p;
  EXPECT_NE(p.find(":17: mirror 'a'.dir: '_depot/a': /_depot/ is the server's own"),
            std::string::npos)
      << p;
  EXPECT_NE(p.find(":23: mirror 'b'.dir: 'metrics': /metrics"), std::string::npos) << p;
  EXPECT_EQ(count(p, "server's own"), 4) << p;
  // Below /metrics, outside data_root, and /_proxy/ without the proxy are fine.
  auto c = parse("data_root = \"/srv\"\n" + job("a", "dir = \"metrics/a\"\n") +
                 job("b", "dir = \"/elsewhere/_depot\"\n") + job("_proxy"));
  ASSERT_TRUE(c.ok()) << c.error().message;
  p = problems("data_root = \"/srv\"\n" + job("_proxy") +
               "[serve]\nproxy = true\nproxy-allow = \"a\"\n");
  EXPECT_NE(p.find(":3: mirror.name: '_proxy': /_proxy/ is where the proxy keeps its hosts"),
            std::string::npos)
      << p;
  p = problems(
      "data_root = \"/srv\"\n[publish]\nprefix = \"_depot\"\n"
      "[[upstream]]\nprefix = \"metrics\"\nurl = \"http://x\"\n");
  EXPECT_NE(p.find(":3: publish.prefix: '_depot': /_depot/"), std::string::npos) << p;
  EXPECT_NE(p.find(":5: upstream.prefix: 'metrics': /metrics"), std::string::npos) << p;
}

TEST(SiteConfigTest, AnUpstreamPrefixIsUsedOnce) {
  std::string p = problems(
      "data_root = \"/srv\"\n[[upstream]]\nprefix = \"pypi\"\nurl = \"http://a\"\n"
      "[[upstream]]\nurl = \"http://b\"\nprefix = \"/pypi/\"\n");
  EXPECT_EQ(p, "/etc/depot.toml:7: upstream.prefix: 'pypi' is used twice (also at line 3)");
}

TEST(SiteConfigTest, ProblemsPointAtTheirKeysAndReadTopToBottom) {
  std::string p = problems("data_root = \"/srv\"\n" + job("a") + job("a", "dir = \"x\"\n") +
                           job("b", "dir = \"x/y\"\n") + "colour = 1\n");
  EXPECT_NE(p.find(":8: mirror.name: 'a' is used twice (also at line 3)"), std::string::npos) << p;
  EXPECT_NE(p.find(":18: mirror 'b'.dir: overlaps the directory of mirror 'a' (line 12)"),
            std::string::npos)
      << p;
  EXPECT_NE(p.find(":19: mirror 'b'.colour: not an option"), std::string::npos) << p;
  int last = 0;
  for (size_t at = 0; at < p.size(); at = p.find('\n', at) + 1) {
    int line = std::stoi(p.substr(p.find(':', at) + 1));
    EXPECT_LE(last, line) << p;
    last = line;
    if (p.find('\n', at) == std::string::npos) break;
  }
}

}  // namespace
}  // namespace depot::site

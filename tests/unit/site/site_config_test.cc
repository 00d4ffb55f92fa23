#include "site/site_config.h"

#include <gtest/gtest.h>

#include "core/file_io.h"
#include "site_config_testing.h"
#include "support/temp_dir.h"

namespace depot::site {
namespace {

constexpr const char* kGood = R"(
listen = "127.0.0.1:0"
data_root = "/srv/mirror"
max_concurrent = 3
retry = 4
timeout = "6h"
jitter = "5m"

[[mirror]]
name = "debian"
registry = "apt"
upstream = "http://deb.example/debian"
interval = "6h"
dist = ["bookworm", "bookworm-updates"]
component = "main"
arch = ["amd64"]
contents = true
retry = 1
exec_on_success = "echo done"

[[mirror]]
name = "conda"
registry = "conda"
upstream = "https://conda.example/conda-forge"
dir = "/data/conda"
interval = "30m"
subdir = ["noarch"]
max_concurrency = 16
no-delete = true
enabled = false

[serve]
cache-size = "10G"
index-ttl = 60

[[upstream]]
prefix = "/pypi/"
url = "https://pypi.example/"
)";

TEST(SiteConfigTest, ReadsEverySection) {
  auto c = parse(kGood);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->listen, "127.0.0.1:0");
  EXPECT_EQ(c->server.host, "127.0.0.1");
  EXPECT_EQ(c->data_root, "/srv/mirror");
  EXPECT_EQ(c->state_dir, "/srv/mirror/.depot-site");
  EXPECT_EQ(c->log_dir, "/srv/mirror/.depot-site/logs");
  EXPECT_EQ(c->control_socket, "/srv/mirror/.depot-site/control.sock");
  EXPECT_EQ(c->max_concurrent, 3);
  EXPECT_EQ(c->timeout, std::chrono::hours(6));
  EXPECT_EQ(c->jitter, std::chrono::minutes(5));
  ASSERT_EQ(c->jobs.size(), 2u);
  const JobConfig& deb = c->jobs[0];
  EXPECT_EQ(deb.dest, "/srv/mirror/debian");
  EXPECT_TRUE(deb.served);
  EXPECT_EQ(deb.url_path, "debian/");
  EXPECT_EQ(deb.schedule.text(), "6h");
  EXPECT_EQ(deb.source.list("dist"), (std::vector<std::string>{"bookworm", "bookworm-updates"}));
  EXPECT_EQ(deb.source.list("component"), (std::vector<std::string>{"main"}));
  EXPECT_EQ(deb.source.value("contents"), "yes");
  EXPECT_EQ(deb.retry, 1);
  EXPECT_EQ(deb.timeout, std::chrono::hours(6));  // the site's
  EXPECT_EQ(deb.exec_on_success, (std::vector<std::string>{"echo done"}));
  EXPECT_EQ(deb.line, 9);
  const JobConfig& conda = c->jobs[1];
  EXPECT_EQ(conda.dest, "/data/conda");
  EXPECT_FALSE(conda.served);  // outside data_root
  EXPECT_EQ(conda.url_path, "");
  EXPECT_EQ(conda.retry, 4);
  EXPECT_EQ(conda.engine.max_concurrency, 16);  // '_' stands for '-'
  EXPECT_TRUE(conda.engine.no_delete);
  EXPECT_FALSE(conda.enabled);
  EXPECT_EQ(c->serve.cache_size, 10ull << 30);
  EXPECT_EQ(c->serve.index_ttl, std::chrono::seconds(60));
  EXPECT_TRUE(c->serve.autoindex);  // a site's default
  ASSERT_EQ(c->serve.upstreams.size(), 1u);
  EXPECT_EQ(c->serve.upstreams[0].prefix, "pypi");
  EXPECT_EQ(c->serve.upstreams[0].url, "https://pypi.example");
  EXPECT_EQ(c->serve.upstreams[0].registry, "pypi");
  EXPECT_NE(c->find("conda"), nullptr);
  EXPECT_EQ(c->find("nope"), nullptr);
}

TEST(SiteConfigTest, ErrorsNameTheFileTheLineAndTheKey) {
  std::string p = problems(R"(data_root = "/srv"
colour = "blue"

[[mirror]]
name = "debian"
registry = "apt"
upstream = "http://deb.example/debian"
interval = "6h"
distt = ["bookworm"]
retry = "three"
)");
  EXPECT_NE(p.find("/etc/depot.toml:2: colour: unknown key"), std::string::npos) << p;
  EXPECT_NE(p.find("/etc/depot.toml:9: mirror 'debian'.distt: not an option of registry apt"),
            std::string::npos)
      << p;
  EXPECT_NE(p.find("/etc/depot.toml:10: mirror 'debian'.retry: expected an integer"),
            std::string::npos)
      << p;
}

TEST(SiteConfigTest, RegistryOptionsAreTheRegistrysOwn) {
  std::string p = problems(R"(data_root = "/srv"
[[mirror]]
name = "conda"
registry = "conda"
upstream = "http://conda.example/c"
interval = "1h"
dist = ["bookworm"]
max-concurrent = 4
)");
  EXPECT_NE(p.find(":7: mirror 'conda'.dist: not an option of registry conda"), std::string::npos)
      << p;
  EXPECT_NE(p.find(":8: mirror 'conda'.max-concurrent: a site-wide setting: give it at the top "
                   "level"),
            std::string::npos)
      << p;
}

TEST(SiteConfigTest, MissingAndMalformedValues) {
  std::string p = problems(R"(listen = "nowhere"
[[mirror]]
name = "../x"
registry = "nosuch"
upstream = "ftp://x"
)");
  EXPECT_NE(p.find(":1: listen: expected HOST:PORT"), std::string::npos) << p;
  EXPECT_NE(p.find("mirror.name: '../x'"), std::string::npos) << p;
  EXPECT_NE(p.find("'nosuch' is not a registry depot mirrors"), std::string::npos) << p;
  EXPECT_NE(p.find("upstream: expected an http:// or https:// URL"), std::string::npos) << p;
  EXPECT_NE(p.find("interval: missing"), std::string::npos) << p;
  EXPECT_NE(p.find("data_root: missing"), std::string::npos) << p;
}

TEST(SiteConfigTest, BadScheduleAndSyntaxErrors) {
  std::string p = problems(R"(data_root = "/srv"
[[mirror]]
name = "a"
registry = "conda"
upstream = "http://x.example/a"
interval = "soon"
)");
  EXPECT_NE(p.find(":6: mirror 'a'.interval: "), std::string::npos) << p;
  p = problems("data_root = \n");
  EXPECT_NE(p.find("/etc/depot.toml:1: "), std::string::npos) << p;
  // Every problem is one line: newlines in toml++'s description or in a quoted key or value.
  p = problems("x = t\n");
  EXPECT_EQ(p.find('\n'), std::string::npos) << p;
  EXPECT_EQ(p.rfind("/etc/depot.toml:1: ", 0), 0u) << p;
  p = problems("data_root = \"/srv\"\n\"odd\\nkey\" = 1\n[[mirror]]\nname = \"a\\nb\"\n");
  for (size_t at = 0; at < p.size(); at = p.find('\n', at) + 1) {
    EXPECT_EQ(p.compare(at, 16, "/etc/depot.toml:"), 0) << p;
    if (p.find('\n', at) == std::string::npos) break;
  }
  EXPECT_NE(p.find("odd\\x0akey"), std::string::npos) << p;
  EXPECT_NE(p.find("'a\\x0ab'"), std::string::npos) << p;
}

TEST(SiteConfigTest, CronSchedulesTakeTheSitesZoneOrTheJobsOwn) {
  auto c = parse("data_root = \"/srv\"\ntimezone = \"Europe/Berlin\"\n" +
                 job("a", "", "0 4 * * *") + job("b", "timezone = \"UTC\"\n", "0 4 * * *"));
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->timezone, "Europe/Berlin");
  EXPECT_EQ(c->jobs[0].schedule.zone(), "Europe/Berlin");
  EXPECT_EQ(c->jobs[1].schedule.zone(), "");
  const WallTime noon =
      std::chrono::sys_days{std::chrono::year{2026} / 12 / 5} + std::chrono::hours{12};
  EXPECT_EQ(c->jobs[0].schedule.next_after(noon), noon + std::chrono::hours{15});  // 04:00 CET
  EXPECT_EQ(c->jobs[1].schedule.next_after(noon), noon + std::chrono::hours{16});

  std::string p = problems("data_root = \"/srv\"\ntimezone = \"Europe/Nowhere\"\n" +
                           job("a", "", "0 4 * * *") +
                           job("b", "timezone = \"Atlantis\"\n", "0 4 * * *"));
  EXPECT_NE(p.find("/etc/depot.toml:2: timezone: time zone 'Europe/Nowhere'"), std::string::npos)
      << p;
  EXPECT_NE(p.find("/etc/depot.toml:13: mirror 'b'.timezone: time zone 'Atlantis'"),
            std::string::npos)
      << p;
  EXPECT_EQ(p.find("mirror 'a'"), std::string::npos) << "the site's zone is reported once: " << p;
}

TEST(SiteConfigTest, PublishTableHostsTheDaemon) {
  auto c = parse(R"(data_root = "/srv"
[publish]
prefix = "/hosted/"
signing-key = "archive@example.org"
grace = "2h"
arch = ["amd64", "arm64"]
no_xz = true
)");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(c->publish.enabled);
  EXPECT_EQ(c->publish.prefix, "hosted");
  EXPECT_EQ(c->publish.public_dir, "/srv/hosted");
  EXPECT_EQ(c->publish.root, "/srv/.depot-site/publish");
  EXPECT_EQ(c->publish.grace, std::chrono::hours(2));
  EXPECT_EQ(c->publish.architectures, (std::vector<std::string>{"amd64", "arm64"}));
  EXPECT_TRUE(c->publish.no_xz);
  EXPECT_FALSE(parse("data_root = \"/srv\"\n").value().publish.enabled);
  std::string p = problems(R"(data_root = "/srv"
[[mirror]]
name = "hosted"
registry = "conda"
upstream = "http://x.example/a"
interval = "1h"
[publish]
incoming = "/srv/incoming"
colour = "red"
)");
  EXPECT_NE(p.find(":3: mirror 'hosted'.dir: overlaps where [publish] publishes /srv/hosted"),
            std::string::npos)
      << p;
  EXPECT_NE(p.find("publish.incoming: needs incoming-repo"), std::string::npos) << p;
  EXPECT_NE(p.find(":9: publish.colour: unknown key"), std::string::npos) << p;
}

TEST(SiteConfigTest, ProcessSettingsAreKeptAsWrittenForReload) {
  auto a = parse(kGood);
  auto b = parse(std::string(kGood) + "\n[publish]\n");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->process_settings.at("listen"), b->process_settings.at("listen"));
  EXPECT_EQ(a->process_settings.at("serve"), b->process_settings.at("serve"));
  EXPECT_NE(a->process_settings.at("publish"), b->process_settings.at("publish"));
  EXPECT_NE(a->process_settings.at("serve").find("cache-size"), std::string::npos);
}

TEST(SiteConfigTest, RelativePathsAreTheConfigFilesAndKeysOnce) {
  auto c = parse_site_config(
      "data_root = \"data\"\nlog_dir = \"../log\"\ncontrol_socket = \"run/s.sock\"\n",
      "/etc/depot/depot.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->data_root, "/etc/depot/data");
  EXPECT_EQ(c->log_dir, "/etc/log");
  EXPECT_EQ(c->control_socket, "/etc/depot/run/s.sock");
  std::string p = problems(R"(data_root = "/srv"
log_level = "loud"
site_name = "../x"
[[mirror]]
name = "a"
registry = "conda"
upstream = "http://x.example/a"
interval = "1h"
max-concurrency = 4
max_concurrency = 8
timeout = 99999999999999
)");
  EXPECT_NE(p.find(":2: log_level: expected debug, info, warn or error"), std::string::npos) << p;
  EXPECT_NE(p.find(":3: site_name: "), std::string::npos) << p;
  EXPECT_NE(p.find(":10: mirror 'a'.max_concurrency: given twice (also as max-concurrency)"),
            std::string::npos)
      << p;
  EXPECT_NE(p.find(":11: mirror 'a'.timeout: expected a duration"), std::string::npos) << p;
}

TEST(SiteConfigTest, ServeIsOneTableEitherWay) {
  auto c = parse("data_root = \"/srv\"\n[[serve]]\nindex-ttl = 7\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->serve.index_ttl, std::chrono::seconds(7));
  std::string p = problems("data_root = \"/srv\"\n[[serve]]\n[[serve]]\n");
  EXPECT_NE(p.find("serve: expected one table"), std::string::npos) << p;
}

TEST(SiteConfigTest, ServeTakesTheProxyOptions) {
  auto c = parse(
      "data_root = \"/srv\"\n[serve]\nproxy = true\n"
      "proxy-allow = [\"deb.example.org\", \"a:8080,[::1]:81\"]\n"
      "proxy-revalidate-after = 10\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(c->serve.proxy.enabled);
  ASSERT_EQ(c->serve.proxy.allow.size(), 3u);
  EXPECT_EQ(c->serve.proxy.allow[2].authority, "[::1]:81");
  EXPECT_EQ(c->serve.proxy.revalidate_after, std::chrono::seconds(10));
  std::string p = problems("data_root = \"/srv\"\n[serve]\nproxy = true\n");
  EXPECT_NE(p.find("serve.proxy: needs proxy-allow"), std::string::npos) << p;
  p = problems("data_root = \"/srv\"\n[serve]\nproxy = true\nproxy-allow = \"a@b\"\n");
  EXPECT_NE(p.find("serve.proxy-allow: host \"a@b\""), std::string::npos) << p;
  p = problems("data_root = \"/srv\"\n[serve]\nproxy-allow = \"a\"\n");
  EXPECT_NE(p.find("needs proxy = true"), std::string::npos) << p;
  p = problems(
      "data_root = \"/srv\"\n[serve]\nproxy = true\nproxy-allow = \"a\"\n"
      "[[upstream]]\nprefix = \"_proxy/a\"\nurl = \"http://x\"\n");
  EXPECT_NE(p.find(":6: upstream.prefix: upstream prefix '_proxy/a': /_proxy/ is where the proxy "
                   "keeps its hosts"),
            std::string::npos)
      << p;
}

TEST(SiteConfigTest, ServeTakesThePrefetchOptions) {
  auto c = parse(
      "data_root = \"/srv\"\n[serve]\nprefetch-budget = \"2G\"\nprefetch-concurrency = 3\n"
      "prefetch-window = \"7d\"\nusage-from = \"10.0.0.0/8, 127.0.0.1\"\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->serve.prefetch.budget_per_hour, uint64_t{2} << 30);
  EXPECT_EQ(c->serve.prefetch.concurrency, 3);
  EXPECT_EQ(c->serve.prefetch_window, std::chrono::hours(24 * 7));
  EXPECT_EQ(c->server.usage_from.size(), 2u);
  std::string p = problems(
      "data_root = \"/srv\"\n[serve]\nprefetch-budget = \"lots\"\nprefetch-window = \"0s\"\n"
      "usage-from = \"10.0.0.0/99\"\n");
  EXPECT_NE(p.find("serve.prefetch-budget: not a size: lots"), std::string::npos) << p;
  EXPECT_NE(p.find("serve.prefetch-window: must be longer than 0s"), std::string::npos) << p;
  EXPECT_NE(p.find("serve.usage-from: '10.0.0.0/99' is not a network"), std::string::npos) << p;
}

TEST(SiteConfigTest, TheControlSocketIsFoundInAFileWithProblems) {
  testing::TempDir dir;
  auto file = dir.path() / "depot.toml";
  ASSERT_TRUE(write_whole_file(file, "data_root = \"d\"\nbogus = 1\n[[mirror]]\nname = 3\n").ok());
  EXPECT_FALSE(load_site_config(file).ok());
  auto socket = locate_control_socket(file);
  ASSERT_TRUE(socket.ok()) << socket.error().message;
  EXPECT_EQ(*socket, (dir.path() / "d" / ".depot-site" / "control.sock").string());
  ASSERT_TRUE(write_whole_file(file, "x = [").ok());
  EXPECT_FALSE(locate_control_socket(file).ok());
}

TEST(SiteConfigTest, AWrongValueIsReportedOnceWithAHint) {
  std::string p = problems(
      "data_root = \"/srv\"\n[[mirror]]\nname = \"a\"\nregistry = \"conda\"\n"
      "upstream = \"http://x.example/a\"\ninterval = 3600\n");
  EXPECT_EQ(p,
            "/etc/depot.toml:6: mirror 'a'.interval: expected a string: a duration such as "
            "\"1h\" or a cron expression");
  p = problems(
      "data_root = \"/srv\"\n[[mirror]]\nname = 3\nregistry = 4\nupstream = 5\n"
      "interval = \"1h\"\n");
  EXPECT_EQ(p,
            "/etc/depot.toml:3: mirror.name: expected a string\n"
            "/etc/depot.toml:4: mirror.registry: expected a string\n"
            "/etc/depot.toml:5: mirror.upstream: expected a string");
  p = problems("listen = \"127.0.0.1:0\"\ndata_root = 1\n" + job("a"));
  EXPECT_EQ(p, "/etc/depot.toml:2: data_root: expected a string");
  p = problems("data_root = \"/srv\"\n" + job("a", "dir = 1\nsize = 2\n"));
  EXPECT_EQ(count(p, ": "), 2 * 2) << p;
  p = problems(
      "data_root = \"/srv\"\n[serve]\nproxy = true\nproxy-allow = 5\n"
      "[[upstream]]\nprefix = 1\nurl = 2\n"
      "[publish]\nincoming = \"/in\"\nincoming-repo = 3\n");
  EXPECT_EQ(p,
            "/etc/depot.toml:4: serve.proxy-allow: expected a string or an array of strings\n"
            "/etc/depot.toml:6: upstream.prefix: expected a string\n"
            "/etc/depot.toml:7: upstream.url: expected a string\n"
            "/etc/depot.toml:10: publish.incoming-repo: expected a string");
  // Absent, each is still missing.
  p = problems("[[mirror]]\nname = \"a\"\n");
  EXPECT_NE(p.find(":1: mirror 'a'.registry: missing"), std::string::npos) << p;
  EXPECT_NE(p.find(":1: mirror 'a'.interval: missing"), std::string::npos) << p;
  EXPECT_NE(p.find(":1: mirror 'a'.dir: missing, and there is no data_root"), std::string::npos)
      << p;
}

TEST(SiteConfigTest, TheSitesDurationsNeedAUnit) {
  std::string p =
      problems("data_root = \"/srv\"\njitter = 7\ntimeout = \"300\"\n" + job("a", "timeout = 5\n"));
  EXPECT_NE(p.find(":2: jitter: 7 needs a unit, in a string: \"7s\" for seconds, or \"30m\""),
            std::string::npos)
      << p;
  EXPECT_NE(p.find(":3: timeout: 300 needs a unit"), std::string::npos) << p;
  EXPECT_NE(p.find(":9: mirror 'a'.timeout: 5 needs a unit"), std::string::npos) << p;
  auto c = parse("data_root = \"/srv\"\njitter = 0\ntimeout = \"0\"\n" +
                 job("a", "timeout = \"90s\"\n") +
                 "[serve]\nprefetch-window = 3600\n[publish]\ngrace = 60\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->jitter, std::chrono::seconds(0));
  EXPECT_EQ(c->jobs[0].timeout, std::chrono::seconds(90));
  // Keys named as `depot serve`'s and `depot daemon`'s flags take seconds, as the flags do.
  EXPECT_EQ(c->serve.prefetch_window, std::chrono::seconds(3600));
  EXPECT_EQ(c->publish.grace, std::chrono::seconds(60));
}

TEST(SiteConfigTest, EveryKeyTakesBothSpellings) {
  auto c = parse(R"(data-root = "/srv"
max-concurrent = 5
log-level = "debug"
history-days = 9
[[mirror]]
name = "a"
registry = "conda"
upstream = "http://x.example/a"
interval = "1h"
exec-on-success = "echo ok"
exec-on-failure = ["echo no"]
)");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->data_root, "/srv");
  EXPECT_EQ(c->max_concurrent, 5);
  EXPECT_EQ(c->log_level, "debug");
  EXPECT_EQ(c->history_days, 9);
  EXPECT_EQ(c->jobs[0].exec_on_success, (std::vector<std::string>{"echo ok"}));
  EXPECT_EQ(c->jobs[0].exec_on_failure, (std::vector<std::string>{"echo no"}));
  auto d = parse("data_root = \"/srv\"\n");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(c->process_settings.at("data_root"), d->process_settings.at("data_root"));
  std::string p = problems("data_root = \"/srv\"\nlog-level = 3\n" +
                           job("a", "exec_on_success = \"x\"\nexec-on-success = \"y\"\n"));
  EXPECT_NE(p.find(":2: log-level: expected a string"), std::string::npos) << p;
  EXPECT_NE(p.find(":9: mirror 'a'.exec-on-success: given twice (also as exec_on_success)"),
            std::string::npos)
      << p;
  EXPECT_EQ(count(p, "log"), 1) << p;
}

TEST(SiteConfigTest, JobNames) {
  EXPECT_TRUE(valid_job_name("debian-security_2.x"));
  EXPECT_FALSE(valid_job_name(""));
  EXPECT_FALSE(valid_job_name(".hidden"));
  EXPECT_FALSE(valid_job_name("a/b"));
  EXPECT_FALSE(valid_job_name(std::string(65, 'a')));
}

}  // namespace
}  // namespace depot::site

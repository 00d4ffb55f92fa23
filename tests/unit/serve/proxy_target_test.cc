#include "serve/proxy_target.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "serve/request_path.h"

namespace depot {
namespace {

ProxyOptions allowing(const char* list) {
  ProxyOptions o;
  o.enabled = true;
  auto hosts = parse_proxy_allow(list);
  EXPECT_TRUE(hosts.ok()) << hosts.error().message;
  if (hosts.ok()) o.allow = *hosts;
  return o;
}

const std::vector<std::string> kSelf = {"127.0.0.1:3142", "localhost:3142"};

// TargetRoute::host points into the options: they outlive every route taken.
const ProxyOptions& listed() {
  static const ProxyOptions o = allowing("deb.example.org,127.0.0.1:8080,[::1]:8080");
  return o;
}

TargetRoute route(std::string_view target, std::string_view host = "") {
  return route_request_target(target, host, listed(), kSelf);
}

TEST(ProxyTarget, ParsesAllowListEntries) {
  auto hosts = parse_proxy_allow(" Deb.Example.ORG , mirror:8080,[::1]:9000,x:80, deb.example.org");
  ASSERT_TRUE(hosts.ok()) << hosts.error().message;
  ASSERT_EQ(hosts->size(), 4u);  // the repeated host counts once
  EXPECT_EQ((*hosts)[0].authority, "deb.example.org");
  EXPECT_EQ((*hosts)[0].prefix(), "_proxy/deb.example.org");
  EXPECT_EQ((*hosts)[0].url(), "http://deb.example.org");
  EXPECT_EQ((*hosts)[1].authority, "mirror:8080");
  EXPECT_EQ((*hosts)[1].port, 8080);
  EXPECT_EQ((*hosts)[2].authority, "[::1]:9000");
  EXPECT_EQ((*hosts)[3].authority, "x");  // port 80 is implied
}

TEST(ProxyTarget, RefusesBadAllowListEntries) {
  for (const char* bad :
       {"", "a,,b", "http://a", "user@a", "a:0", "a:65536", "a:8o", "a%2eb", "a/b", "::1", "[::1",
        "[fe80::1%25eth0]", "[]", "[::1]x", "a:1:2", "a b", "[::g]"}) {
    EXPECT_FALSE(parse_proxy_allow(bad).ok()) << bad;
  }
}

TEST(ProxyTarget, OriginFormPassesUnchanged) {
  auto r = route("/debian/dists/x?y=1");
  EXPECT_EQ(r.kind, TargetRoute::Kind::kOrigin);
  EXPECT_EQ(r.target, "/debian/dists/x?y=1");
}

TEST(ProxyTarget, AllowedHostMapsToItsPrefix) {
  auto r = route("http://deb.example.org/debian/dists/bookworm/InRelease", "deb.example.org");
  ASSERT_EQ(r.kind, TargetRoute::Kind::kProxied) << r.message;
  EXPECT_EQ(r.target, "/_proxy/deb.example.org/debian/dists/bookworm/InRelease");
  ASSERT_NE(r.host, nullptr);
  EXPECT_EQ(r.host->url(), "http://deb.example.org");
  // Case, the default port spelled out, no path, a query.
  EXPECT_EQ(route("HTTP://DEB.example.org:80/a", "deb.example.org").target,
            "/_proxy/deb.example.org/a");
  EXPECT_EQ(route("http://deb.example.org:/a").target, "/_proxy/deb.example.org/a");
  EXPECT_EQ(route("http://deb.example.org").target, "/_proxy/deb.example.org/");
  EXPECT_EQ(route("http://deb.example.org?x").target, "/_proxy/deb.example.org/?x");
  EXPECT_EQ(route("http://127.0.0.1:8080/r/repomd.xml", "127.0.0.1:8080").target,
            "/_proxy/127.0.0.1:8080/r/repomd.xml");
  EXPECT_EQ(route("http://[::1]:8080/a", "[::1]:8080").target, "/_proxy/[::1]:8080/a");
}

TEST(ProxyTarget, UnlistedHostsAreRefusedByName) {
  for (const char* t :
       {"http://evil.example/x", "http://127.0.0.1:8081/x", "http://127.0.0.1/x",
        "http://localhost:8080/x", "http://127.1:8080/x", "http://2130706433:8080/x",
        "http://0x7f.0.0.1:8080/x", "http://deb.example.org.:80/x", "http://deb.example.org:8080/x",
        "http://[::1]:8081/x", "http://[0::1]:8080/x", "http://[::ffff:127.0.0.1]:8080/x"}) {
    auto r = route(t);
    EXPECT_EQ(r.kind, TargetRoute::Kind::kRefused) << t;
    EXPECT_EQ(r.status, 403) << t;
    EXPECT_STREQ(r.reason, "host") << t;
    EXPECT_NE(r.message.find("allow-list"), std::string::npos) << r.message;
  }
  EXPECT_NE(route("http://evil.example/x").message.find("evil.example"), std::string::npos);
}

TEST(ProxyTarget, HostileTargetsAreRefused) {
  struct Case {
    const char* target;
    int status;
  } cases[] = {
      {"http://user@deb.example.org/x", 400},          // userinfo
      {"http://deb.example.org@evil.example/x", 400},  // userinfo hiding the real host
      {"http://deb.example.org:x@evil.example/x", 400},
      {"http://deb%2eexample.org/x", 400},  // percent-encoded host
      {"http://deb.example.org%00/x", 400},
      {"http://evil.example\\@deb.example.org/x", 400},
      {"http://[fe80::1%25lo]:8080/x", 400},  // zone id
      {"http://[::1/x", 400},
      {"http:///x", 400},  // no host
      {"http://deb.example.org:99999/x", 400},
      {"https://deb.example.org/x", 403},  // only http is proxied
      {"ftp://deb.example.org/x", 403},
      {"deb.example.org:443", 400},  // authority-form outside CONNECT
      {"*", 400},
      {"x", 400},
      {"://x", 400},
  };
  for (const auto& c : cases) {
    auto r = route(c.target);
    EXPECT_EQ(r.kind, TargetRoute::Kind::kRefused) << c.target;
    EXPECT_EQ(r.status, c.status) << c.target << ": " << r.message;
  }
}

TEST(ProxyTarget, HostHeaderMustNameTheTarget) {
  EXPECT_EQ(route("http://deb.example.org/x", "evil.example").status, 400);
  EXPECT_EQ(route("http://deb.example.org/x", "deb.example.org:8080").status, 400);
  EXPECT_EQ(route("http://deb.example.org/x", "bad host").status, 400);
  EXPECT_EQ(route("http://deb.example.org/x", "DEB.example.org:80").kind,
            TargetRoute::Kind::kProxied);
  EXPECT_EQ(route("http://deb.example.org/x", "").kind, TargetRoute::Kind::kProxied);  // HTTP/1.0
}

TEST(ProxyTarget, DotSegmentsStayInsideTheHostsPrefix) {
  for (const char* t : {"http://deb.example.org/../127.0.0.1:8080/x",
                        "http://deb.example.org/%2e%2e/127.0.0.1:8080/x",
                        "http://deb.example.org/a/..%2f..%2fx", "http://deb.example.org/./x"}) {
    auto r = route(t);
    ASSERT_EQ(r.kind, TargetRoute::Kind::kProxied) << t;
    EXPECT_FALSE(parse_request_target(r.target).ok()) << t << " -> " << r.target;
  }
  auto r = route("http://deb.example.org//a//b");
  auto path = parse_request_target(r.target);
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(path->rel, "_proxy/deb.example.org/a/b");
}

TEST(ProxyTarget, ItselfIsServedAsAPath) {
  for (const char* t : {"http://127.0.0.1:3142/debian/x", "http://LOCALHOST:3142/debian/x"}) {
    auto r = route(t);
    EXPECT_EQ(r.kind, TargetRoute::Kind::kOrigin) << t;
    EXPECT_EQ(r.target, "/debian/x");
  }
  EXPECT_EQ(route("http://127.0.0.1:3142").target, "/");
}

TEST(ProxyTarget, WithoutTheProxyOnlyItselfIsServed) {
  ProxyOptions off;
  EXPECT_EQ(route_request_target("http://127.0.0.1:3142/m", "", off, kSelf).target, "/m");
  auto r = route_request_target("http://deb.example.org/m", "", off, kSelf);
  EXPECT_EQ(r.kind, TargetRoute::Kind::kRefused);
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.message.find("no proxy"), std::string::npos) << r.message;
  // An allow-list without the switch proxies nothing.
  ProxyOptions switched_off = allowing("deb.example.org");
  switched_off.enabled = false;
  EXPECT_EQ(route_request_target("http://deb.example.org/m", "", switched_off, kSelf).kind,
            TargetRoute::Kind::kRefused);
}

TEST(ProxyTarget, SelfAuthorities) {
  auto self = self_authorities("127.0.0.1", 3142, "http://Cache.Example:80/base");
  EXPECT_EQ(self[0], "127.0.0.1:3142");
  EXPECT_EQ(self[1], "localhost:3142");
  EXPECT_EQ(self.back(), "cache.example");
  auto v6 = self_authorities("::1", 80, "");
  EXPECT_EQ(v6[0], "[::1]");
  EXPECT_EQ(v6[1], "localhost");
}

TEST(ProxyTarget, PrefixConflicts) {
  EXPECT_EQ(proxy_prefix_conflict({{"debian", "http://a"}, {"_proxyx", "http://b"}}), "");
  EXPECT_NE(proxy_prefix_conflict({{"_proxy", "http://a"}}), "");
  EXPECT_NE(proxy_prefix_conflict({{"_proxy/deb.example.org", "http://a"}}), "");
}

TEST(ProxyTarget, ClientMaxAge) {
  EXPECT_EQ(client_max_age("max-age=0", ""), 0);
  EXPECT_EQ(client_max_age("no-cache", "no-cache"), 0);
  EXPECT_EQ(client_max_age("", "no-cache"), 0);
  EXPECT_EQ(client_max_age("public, MAX-AGE=120", ""), 120);
  EXPECT_EQ(client_max_age("max-age=\"60\"", ""), 60);
  EXPECT_EQ(client_max_age("max-age=60, no-cache", ""), 0);
  EXPECT_EQ(client_max_age("no-store", ""), std::nullopt);
  EXPECT_EQ(client_max_age("max-age=x", ""), std::nullopt);
  EXPECT_EQ(client_max_age("", ""), std::nullopt);
  EXPECT_EQ(client_max_age("max-age=99999999999999999999", ""), std::nullopt);
}

}  // namespace
}  // namespace depot

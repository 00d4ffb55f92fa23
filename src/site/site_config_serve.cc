// depot.toml's [serve], [[upstream]] and [publish] tables.

#include "serve/proxy_target.h"
#include "site/config_reader.h"
#include "sources/registry.h"
#include "transfer/http_util.h"

namespace depot::site::detail {
namespace {

namespace fs = std::filesystem;

// proxy, proxy-allow (a string "a,b:8080" or an array of them), proxy-revalidate-after: as
// serve's flags.
void read_proxy(Reader& r, SiteConfig& site) {
  ProxyOptions& proxy = site.serve.proxy;
  std::vector<std::string> allow;
  auto revalidate = static_cast<double>(proxy.revalidate_after.count());
  r.flag("proxy", proxy.enabled);
  r.strings("proxy-allow", allow);
  r.number("proxy-revalidate-after", revalidate, 0, 86400);
  proxy.revalidate_after = std::chrono::seconds(static_cast<int64_t>(revalidate));
  if (r.bad("proxy") || r.bad("proxy-allow")) return;
  if (auto hosts = parse_proxy_allow(allow); hosts.ok()) {
    proxy.allow = std::move(*hosts);
  } else {
    return r.problem("proxy-allow", hosts.error().message);
  }
  if (proxy.enabled && proxy.allow.empty()) {
    r.problem("proxy", "needs proxy-allow = [\"HOST[:PORT]\", ...]");
  }
  if (!proxy.enabled && !allow.empty()) r.problem("proxy-allow", "needs proxy = true");
}

// An [[upstream]]'s prefix: safe, not the server's own path, not another's.
void check_prefix(Reader& r, const std::string& prefix, const std::vector<UpstreamConfig>& before,
                  const std::vector<int>& lines) {
  if (prefix.empty() || prefix.find("..") != std::string::npos || prefix.starts_with(".depot")) {
    return r.problem("prefix", "missing or unsafe: '" + prefix + "'");
  }
  if (std::string why = route_clash(prefix, false); !why.empty()) {
    return r.problem("prefix", "'" + prefix + "': " + why);
  }
  for (size_t i = 0; i < before.size(); ++i) {
    if (before[i].prefix == prefix) {
      return r.problem("prefix", "'" + prefix + "' is used twice (also at line " +
                                     std::to_string(lines[i]) + ")");
    }
  }
}

}  // namespace

void read_serve(const toml::table& t, SiteConfig& site, Problems& p) {
  Reader r(t, "serve", p);
  std::string cache_dir, cache_size = "0", prefetch_budget = "0";
  std::string usage_from;
  double index_ttl = 300, negative_ttl = 60, idle = 60, send = 60;
  r.text("cache-dir", cache_dir);
  r.text("cache-size", cache_size);
  r.text("prefetch-budget", prefetch_budget);
  r.integer("prefetch-concurrency", site.serve.prefetch.concurrency, 1, 64);
  r.duration("prefetch-window", site.serve.prefetch_window, Reader::Bare::kSeconds);
  r.text("usage-from", usage_from);
  r.number("index-ttl", index_ttl, 0, 86400.0 * 365);
  r.number("negative-ttl", negative_ttl, 0, 86400.0 * 365);
  r.text("public-url", site.serve.public_url);
  r.flag("autoindex", site.serve.autoindex);
  r.integer("upstream-workers", site.serve.upstream_workers, 1, 4096);
  r.integer("threads", site.server.threads, 1, 256);
  r.integer("max-connections", site.server.max_connections, 0, 1 << 20);
  r.number("idle-timeout", idle, 0.1, 86400);
  r.number("send-timeout", send, 0.1, 86400);
  read_proxy(r, site);
  r.unknown();
  if (!cache_dir.empty()) site.serve.cache_dir = cache_dir;
  if (auto size = parse_bytes(cache_size))
    site.serve.cache_size = *size;
  else
    r.problem("cache-size", "not a size: " + cache_size);
  if (auto budget = parse_bytes(prefetch_budget))
    site.serve.prefetch.budget_per_hour = *budget;
  else
    r.problem("prefetch-budget", "not a size: " + prefetch_budget);
  if (site.serve.prefetch_window.count() <= 0)
    r.problem("prefetch-window", "must be longer than 0s");
  if (auto nets = parse_cidr_list(usage_from); nets.ok())
    site.server.usage_from = std::move(*nets);
  else
    r.problem("usage-from", nets.error().message);
  site.serve.index_ttl = std::chrono::seconds(static_cast<int64_t>(index_ttl));
  site.serve.negative_ttl = std::chrono::seconds(static_cast<int64_t>(negative_ttl));
  site.server.idle_timeout = std::chrono::milliseconds(static_cast<int64_t>(idle * 1000));
  site.server.send_timeout = std::chrono::milliseconds(static_cast<int64_t>(send * 1000));
}

void read_upstream(const toml::table& t, SiteConfig& site, Problems& p,
                   std::vector<int>& prefix_lines) {
  Reader r(t, "upstream", p);
  UpstreamConfig u;
  r.text("prefix", u.prefix);
  r.text("url", u.url);
  r.text("registry", u.registry);
  r.unknown();
  while (u.prefix.starts_with('/')) u.prefix.erase(0, 1);
  while (u.prefix.ends_with('/')) u.prefix.pop_back();
  while (u.url.ends_with('/')) u.url.pop_back();
  if (!r.bad("prefix")) check_prefix(r, u.prefix, site.serve.upstreams, prefix_lines);
  if (!r.bad("url") && !is_http_url(u.url)) {
    r.problem("url", "expected an http:// or https:// URL");
  }
  if (!u.registry.empty() && find_registry(u.registry) == nullptr) {
    r.problem("registry", "no registry named " + u.registry);
  }
  if (u.registry.empty()) {
    std::string_view last = std::string_view(u.prefix).substr(u.prefix.rfind('/') + 1);
    if (find_registry(last) != nullptr) u.registry = std::string(last);
  }
  site.serve.upstreams.push_back(u);
  prefix_lines.push_back(r.line("prefix"));
}

void read_publish(const toml::table& t, SiteConfig& site, bool no_data_root, Problems& p) {
  PublishConfig& pub = site.publish;
  pub.enabled = true;
  Reader r(t, "publish", p);
  std::string root, incoming;
  r.text("root", root);
  r.text("prefix", pub.prefix);
  r.integer("workers", pub.workers, 1, 256);
  r.text("signing-key", pub.signing_key);
  r.text("gnupg-home", pub.gnupg_home);
  r.duration("grace", pub.grace, Reader::Bare::kSeconds);
  r.strings("arch", pub.architectures);
  r.flag("no-xz", pub.no_xz);
  r.integer("xz-preset", pub.xz_preset, 0, 9);
  r.integer("gzip-level", pub.gzip_level, 1, 9);
  r.integer("pdiff-generations", pub.pdiff_generations, 0, 1000);
  r.text("incoming", pub.incoming);
  r.text("incoming-repo", pub.incoming_repo);
  r.unknown();
  while (pub.prefix.ends_with('/')) pub.prefix.pop_back();
  while (pub.prefix.starts_with('/')) pub.prefix.erase(0, 1);
  std::string clash = route_clash(pub.prefix, site.serve.proxy.enabled);
  if (r.bad("prefix")) {
    // reported
  } else if (!valid_job_name(pub.prefix)) {
    r.problem("prefix", "'" + pub.prefix + "': one path segment of A-Z a-z 0-9 . _ -");
  } else if (!clash.empty()) {
    r.problem("prefix", "'" + pub.prefix + "': " + clash);
  }
  if (no_data_root) p.add(t.source(), "publish", "needs a data_root to publish into");
  if (!pub.incoming.empty() && pub.incoming_repo.empty() && !r.bad("incoming-repo")) {
    r.problem("incoming", "needs incoming-repo");
  }
  pub.root = !root.empty() ? from_config(site, root) : site.state_dir / "publish";
  if (!pub.incoming.empty()) pub.incoming = from_config(site, pub.incoming).string();
  pub.public_dir = site.data_root / pub.prefix;
}

}  // namespace depot::site::detail

// `depot serve DIR`: serve a directory over HTTP and act as a pull-through cache for upstreams.

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "core/file_io.h"
#include "core/logger.h"
#include "core/units.h"
#include "serve/access_log.h"
#include "serve/cache_service.h"
#include "cli/s3_cache_tier.h"
#include "cli/target_options.h"
#include "serve/http_server.h"
#include "serve/node_api.h"
#include "serve/proxy_target.h"
#include "sources/registry.h"
#include "transfer/http_util.h"

namespace depot {
namespace {

struct ServeArgs {
  std::string dir;
  std::string listen = "127.0.0.1:8080";
  std::string port_file;
  std::vector<std::string> upstreams;
  std::string cache_dir;
  std::string public_url;
  std::string cache_size = "0";
  double index_ttl = 300;
  double negative_ttl = 60;
  double circuit_cooldown = 30;
  double circuit_window = 30;
  int circuit_paths = 5;
  double path_error_ttl = 5;
  double idle_timeout = 60;
  double send_timeout = 60;
  std::string min_send_rate = "256";
  int max_connections = 0;
  double connect_timeout = 10;
  double stall_timeout = 30;
  std::string upstream_min_rate = "1k";
  double queue_timeout = 10;
  double abandoned_finish = 30;
  int retries = 1;
  int threads = 0;
  int upstream_workers = 32;
  bool autoindex = false;
  std::string access_log;
  std::string access_log_format = "text";
  std::string log_format = "text";
  std::string log_level = "info";
  TargetArgs s3;
  std::string cache_bucket;
  std::string node;  // --node NAME: a storage node
  std::string auth_file;
  std::string capacity = "0";
  std::string prefetch_budget = "0";
  int prefetch_concurrency = 2;
  std::string prefetch_window = "30d";
  std::string usage_from;
  bool proxy = false;
  std::vector<std::string> proxy_allow;
  double proxy_revalidate_after = static_cast<double>(ProxyOptions{}.revalidate_after.count());
};

std::chrono::seconds seconds_of(double s) {
  return std::chrono::seconds(static_cast<int64_t>(s < 0 ? 0 : s));
}

// "[KIND:]PREFIX=URL" -> UpstreamConfig; the prefix loses its slashes, the URL its trailing
// slash. The registry is KIND, else the prefix's last segment when a registry has that name.
bool parse_upstream(const std::string& text, UpstreamConfig& out, std::string& why) {
  size_t eq = text.find('=');
  if (eq == std::string::npos) {
    why = "expected [KIND:]PREFIX=URL";
    return false;
  }
  std::string prefix = text.substr(0, eq), url = text.substr(eq + 1);
  std::string kind;
  if (size_t colon = prefix.find(':'); colon != std::string::npos) {
    kind = prefix.substr(0, colon);
    prefix.erase(0, colon + 1);
    if (!find_registry(kind)) {
      why = "no registry named " + kind;
      return false;
    }
  }
  while (!prefix.empty() && prefix.front() == '/') prefix.erase(0, 1);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (!is_http_url(url)) {
    why = "the URL must start with http:// or https://";
    return false;
  }
  if (prefix.find("..") != std::string::npos || prefix.starts_with(".depot")) {
    why = "unsafe prefix";
    return false;
  }
  out.prefix = prefix;
  out.url = url;
  std::string_view last = std::string_view(prefix).substr(prefix.rfind('/') + 1);
  out.registry = !kind.empty() ? kind : find_registry(last) ? std::string(last) : "";
  return true;
}

// --proxy, --proxy-allow and --proxy-revalidate-after into `so.proxy`; "" or what is wrong.
std::string configure_proxy(const ServeArgs& a, ServiceOptions& so) {
  if (!a.proxy) return a.proxy_allow.empty() ? "" : "--proxy-allow needs --proxy";
  if (a.proxy_allow.empty()) return "--proxy needs --proxy-allow HOST[:PORT],...";
  so.proxy.enabled = true;
  so.proxy.revalidate_after = seconds_of(a.proxy_revalidate_after);
  auto hosts = parse_proxy_allow(a.proxy_allow);
  if (!hosts.ok()) return "--proxy-allow: " + hosts.error().message;
  so.proxy.allow = std::move(*hosts);
  return proxy_prefix_conflict(so.upstreams);
}

// Connections and downloads each hold descriptors: use every one the hard limit allows.
void raise_descriptor_limit() {
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
}

bool parse_listen(const std::string& text, ServerOptions& out) {
  return parse_host_port(text, out.host, out.port);
}

// The storage node of `--node`: its options checked, its auth file read, its store opened
// (which reconciles the inventory with DIR). Returns an exit code, or -1 when it is ready.
struct Node {
  std::optional<AuthTable> auth;
  std::unique_ptr<NodeStore> store;
  std::unique_ptr<NodeApi> api;
};
int open_node(const ServeArgs& a, Logger& logger, Node& node) {
  auto usage = [&](const std::string& what) {
    logger.error("usage", {{"error", what}});
    return kExitUsage;
  };
  if (a.node.empty()) {
    if (!a.auth_file.empty()) return usage("--auth-file needs --node NAME");
    if (a.capacity != "0") return usage("--capacity needs --node NAME");
    return -1;
  }
  if (!valid_node_name(a.node)) return usage("--node: 1 to 64 of A-Z a-z 0-9 . _ -");
  if (is_s3_url(a.dir)) return usage("--node serves a local directory, not " + a.dir);
  auto capacity = parse_bytes(a.capacity);
  if (!capacity) return usage("--capacity: not a size: " + a.capacity);
  if (!a.auth_file.empty()) {
    auto table = AuthTable::load(a.auth_file);
    if (!table.ok()) return usage("--auth-file " + table.error().message);
    node.auth = std::move(*table);
  }
  NodeOptions no;
  no.root = a.dir;
  no.name = a.node;
  no.capacity = *capacity;
  auto store = NodeStore::open(no, logger);
  if (!store.ok()) {
    logger.error("node_failed", {{"dir", a.dir}, {"error", store.error().message}});
    return store.error().code == ErrorCode::kRefused ? kExitBusy : kExitStorage;
  }
  node.store = std::move(*store);
  node.api = std::make_unique<NodeApi>(*node.store, a.node, node.auth ? &*node.auth : nullptr,
                                       logger);
  logger.info("node_started",
              {{"node", a.node},
               {"capacity", *capacity},
               {"auth_clients", static_cast<uint64_t>(node.auth ? node.auth->size() : 0)},
               {"writable", node.auth ? "yes" : "no (no --auth-file)"}});
  return -1;
}

int run(const ServeArgs& a) {
  LogFormat fmt = parse_log_format(a.log_format);
  LogLevel lvl = parse_log_level(a.log_level);
  Logger logger(lvl, fmt, stderr);
  auto usage = [&](const std::string& what) {
    logger.error("usage", {{"error", what}});
    return kExitUsage;
  };

  ServiceOptions so;
  so.root = a.dir;
  if (is_s3_url(a.dir)) {
    auto origin = open_s3_origin(a.dir, a.s3);
    if (!origin.ok()) {
      logger.error("serve.s3", {{"error", origin.error().message}});
      return origin.error().code == ErrorCode::kInvalidArgument ? kExitUsage : kExitStorage;
    }
    so.root = origin->root;
    so.cache_dir = origin->cache_dir;
    so.upstreams.push_back(UpstreamConfig{"", origin->url});
    so.download.sigv4.push_back(origin->scope);
  } else if (!a.s3.s3_endpoint.empty() && a.cache_bucket.empty()) {
    return usage("--s3-endpoint needs an s3://bucket/prefix to serve or a --cache-bucket");
  }
  for (const std::string& u : a.upstreams) {
    UpstreamConfig cfg;
    std::string why;
    if (!parse_upstream(u, cfg, why)) return usage("--upstream " + u + ": " + why);
    so.upstreams.push_back(cfg);
  }
  if (std::string why = configure_proxy(a, so); !why.empty()) return usage(why);
  if (!a.cache_dir.empty()) so.cache_dir = a.cache_dir;
  std::unique_ptr<CacheTier> tier;  // outlives the service (the process ends by _exit)
  if (!a.cache_bucket.empty()) {
    if (!is_s3_url(a.cache_bucket)) return usage("--cache-bucket: expected s3://bucket/prefix");
    if (so.upstreams.empty()) return usage("--cache-bucket needs an --upstream to cache");
    auto opened = open_s3_cache_tier(a.cache_bucket, a.s3);
    if (!opened.ok()) {
      logger.error("serve.cache_bucket", {{"error", opened.error().message}});
      return opened.error().code == ErrorCode::kInvalidArgument ? kExitUsage : kExitStorage;
    }
    tier = std::move(*opened);
    so.tier = tier.get();
  }
  so.public_url = a.public_url;
  if (!so.public_url.empty() && !is_http_url(so.public_url)) {
    return usage("--public-url: not an http(s) URL: " + so.public_url);
  }
  auto size = parse_bytes(a.cache_size);
  if (!size) return usage("--cache-size: not a size: " + a.cache_size);
  so.cache_size = *size;
  auto budget = parse_bytes(a.prefetch_budget);
  if (!budget) return usage("--prefetch-budget: not a size: " + a.prefetch_budget);
  so.prefetch.budget_per_hour = *budget;
  so.prefetch.concurrency = a.prefetch_concurrency;
  auto window = parse_duration(a.prefetch_window);
  if (!window || window->count() <= 0) {
    return usage("--prefetch-window: not a duration: " + a.prefetch_window);
  }
  so.prefetch_window = *window;
  so.index_ttl = seconds_of(a.index_ttl);
  so.negative_ttl = seconds_of(a.negative_ttl);
  so.health.cooldown = seconds_of(a.circuit_cooldown);
  so.health.window = seconds_of(a.circuit_window);
  so.health.min_paths = a.circuit_paths;
  so.health.path_ttl = seconds_of(a.path_error_ttl);
  so.upstream_queue_timeout = seconds_of(a.queue_timeout);
  so.abandoned_finish = seconds_of(a.abandoned_finish);
  so.autoindex = a.autoindex;
  so.upstream_workers = a.upstream_workers;
  so.download.retry.max_attempts = a.retries + 1;
  so.download.retry.base_delay = std::chrono::milliseconds(200);
  so.download.retry.max_delay = std::chrono::milliseconds(2000);
  so.download.connect_timeout =
      std::chrono::milliseconds(static_cast<int64_t>(a.connect_timeout * 1000));
  so.download.low_speed_time = seconds_of(a.stall_timeout);
  auto upstream_rate = parse_bytes(a.upstream_min_rate);
  if (!upstream_rate) return usage("--upstream-min-rate: not a size: " + a.upstream_min_rate);
  so.download.low_speed_bytes = static_cast<long>(std::max<uint64_t>(1, *upstream_rate));
  so.download.user_agent = "depot-serve/0.1";

  ServerOptions server_opts;
  if (!parse_listen(a.listen, server_opts)) return usage("--listen: expected HOST:PORT");
  server_opts.threads = a.threads > 0 ? a.threads
                                      : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  server_opts.idle_timeout =
      std::chrono::milliseconds(static_cast<int64_t>(a.idle_timeout * 1000));
  server_opts.send_timeout =
      std::chrono::milliseconds(static_cast<int64_t>(a.send_timeout * 1000));
  auto send_rate = parse_bytes(a.min_send_rate);
  if (!send_rate) return usage("--min-send-rate: not a size: " + a.min_send_rate);
  server_opts.min_send_rate = *send_rate;
  server_opts.max_connections = a.max_connections;
  auto usage_from = parse_cidr_list(a.usage_from);
  if (!usage_from.ok()) return usage("--usage-from: " + usage_from.error().message);
  server_opts.usage_from = std::move(*usage_from);
  if (!server_opts.usage_from.empty() && so.prefetch.budget_per_hour == 0) {
    return usage("--usage-from needs --prefetch-budget: usage reports feed the prefetch");
  }
  raise_descriptor_limit();

  std::error_code ec;
  if (!std::filesystem::is_directory(so.root, ec)) return usage(a.dir + ": not a directory");
  Node node;  // outlives the server (the process ends by _exit)
  if (int code = open_node(a, logger, node); code >= 0) return code;
  so.mutable_tree = node.api != nullptr;

  ::signal(SIGPIPE, SIG_IGN);
  // SIGINT/SIGTERM are handled by the server's signal_set; block them in every other thread.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  ServeMetrics metrics;
  auto service = CacheService::create(so, metrics, logger);
  if (!service.ok()) {
    logger.error("serve_failed", {{"error", service.error().message}});
    return service.error().code == ErrorCode::kRefused ? kExitBusy : kExitStorage;
  }
  std::unique_ptr<AccessLog> access;
  int access_fd = -1;
  if (!a.access_log.empty()) {
    AccessLogFormat af = a.access_log_format == "json" ? AccessLogFormat::kJson
                                                       : AccessLogFormat::kText;
    if (a.access_log == "-") {
      access_fd = STDOUT_FILENO;
    } else {
      access_fd = ::open(a.access_log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (access_fd < 0) {
        return usage("--access-log " + a.access_log + ": " + std::strerror(errno));
      }
    }
    access = std::make_unique<AccessLog>(access_fd, af);
  }
  HttpServer server(server_opts, **service, metrics, access.get(), logger, node.api.get());
  auto port = server.listen();
  if (!port.ok()) {
    logger.error("listen_failed", {{"error", port.error().message}});
    return kExitStorage;
  }
  if (!announce_listening(a.port_file, server_opts.host, *port, logger)) return kExitStorage;
  logger.info("serve_started", {{"dir", a.dir},
                                {"port", static_cast<int>(*port)},
                                {"threads", server_opts.threads},
                                {"upstreams", static_cast<int>(so.upstreams.size())}});
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  server.run();
  // Downloads still running hold connections of the stopped server: persist what matters and
  // leave without unwinding them (their partial files are removed at the next start).
  (*service)->tick();
  access.reset();
  logger.info("serve_stopped", {});
  std::fflush(stdout);
  std::fflush(stderr);
  ::_exit(kExitComplete);
}

}  // namespace

void add_serve_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "serve", "Serve a directory over HTTP; a pull-through cache for each --upstream prefix");
  cmd->add_option("dir", args->dir,
                  "Directory to serve (a depot mirror or any tree), or s3://bucket/prefix with "
                  "--s3-endpoint (served through the cache)")
      ->required();
  add_s3_options(*cmd, args->s3);
  cmd->add_option("--listen", args->listen, "HOST:PORT to listen on (port 0: any free port)")
      ->capture_default_str();
  cmd->add_option("--port-file", args->port_file, "Write the bound port to this file");
  cmd->add_option("--upstream", args->upstreams,
                  "[KIND:]PREFIX=URL: requests under /PREFIX/ missing from DIR are fetched "
                  "from URL and cached (repeatable); the registry KIND (default: the prefix's "
                  "last segment when a registry has that name, e.g. /npm) routes and rewrites "
                  "its documents");
  cmd->add_option("--cache-dir", args->cache_dir, "Cache directory (default DIR/.depot-cache)");
  cmd->add_option("--cache-bucket", args->cache_bucket,
                  "s3://bucket/prefix (with --s3-endpoint) shared by serve nodes: blobs missing "
                  "from the cache directory are read from it before upstream, and blobs fetched "
                  "upstream are copied to it; the cache directory stays the hot tier");
  cmd->add_option("--public-url", args->public_url,
                  "URL clients reach this server at, named in rewritten documents such as "
                  "crates' config.json (default: http:// and the request's Host)");
  cmd->add_option("--cache-size", args->cache_size,
                  "Cache size cap with least-recently-used eviction, e.g. 200G (0: no cap)")
      ->capture_default_str();
  cmd->add_option("--index-ttl", args->index_ttl,
                  "Seconds before an index file is revalidated upstream")
      ->capture_default_str();
  cmd->add_option("--prefetch-budget", args->prefetch_budget,
                  "Usage-driven prefetch: bytes per hour (e.g. 2G) the cache may fetch ahead of "
                  "clients: when a package index read again names a new file of a package a "
                  "client fetched within --prefetch-window, it is fetched in the background "
                  "(0: off)")
      ->capture_default_str();
  cmd->add_option("--prefetch-concurrency", args->prefetch_concurrency,
                  "Prefetches that may run at once")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--prefetch-window", args->prefetch_window,
                  "How long a package stays wanted after a client last fetched it (e.g. 30d, "
                  "12h)")
      ->capture_default_str();
  cmd->add_option("--usage-from", args->usage_from,
                  "Networks (ADDRESS[/BITS],...) whose clients may POST /_depot/v1/usage, "
                  "{\"prefix\": P, \"packages\": [NAMES]}: their installed packages count as "
                  "used for prefetch below the upstream prefix P");
  cmd->add_option("--negative-ttl", args->negative_ttl,
                  "Seconds an upstream 404 is remembered")
      ->capture_default_str();
  cmd->add_option("--circuit-cooldown", args->circuit_cooldown,
                  "Seconds an upstream is left alone once its circuit opened (stale copies are "
                  "served): at once when it cannot be reached, or when --circuit-paths "
                  "different paths failed within --circuit-window and made half the fetches")
      ->capture_default_str();
  cmd->add_option("--circuit-window", args->circuit_window,
                  "Seconds of upstream outcomes the circuit breaker looks at")
      ->capture_default_str();
  cmd->add_option("--circuit-paths", args->circuit_paths,
                  "Distinct failing paths within --circuit-window that open the circuit")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  cmd->add_option("--path-error-ttl", args->path_error_ttl,
                  "Seconds one path's upstream error status or stall is remembered for that path "
                  "only (upstream is not asked for it meanwhile)")
      ->capture_default_str();
  cmd->add_option("--idle-timeout", args->idle_timeout,
                  "Seconds a request header may take to arrive, and a keep-alive connection may "
                  "idle")
      ->capture_default_str();
  cmd->add_option("--send-timeout", args->send_timeout,
                  "Seconds a client may take no byte of a response before it is cut; also the "
                  "window of --min-send-rate")
      ->capture_default_str();
  cmd->add_option("--min-send-rate", args->min_send_rate,
                  "Bytes per second a client must take, over --send-timeout, to keep its "
                  "connection (e.g. 256, 1k)")
      ->capture_default_str();
  cmd->add_option("--max-connections", args->max_connections,
                  "Client connections at once; more are closed when accepted (0: half the "
                  "descriptor limit)")
      ->capture_default_str();
  cmd->add_option("--connect-timeout", args->connect_timeout, "Upstream connect timeout, seconds")
      ->capture_default_str();
  cmd->add_option("--stall-timeout", args->stall_timeout,
                  "Window in seconds of --upstream-min-rate: a download slower than that over "
                  "this long fails")
      ->capture_default_str();
  cmd->add_option("--upstream-min-rate", args->upstream_min_rate,
                  "Bytes per second an upstream download must keep over --stall-timeout "
                  "(e.g. 1k)")
      ->capture_default_str();
  cmd->add_option("--upstream-queue-timeout", args->queue_timeout,
                  "Seconds a miss may wait for a free upstream worker before it is answered "
                  "503 with Retry-After (or from a stale copy)")
      ->capture_default_str();
  cmd->add_option("--abandoned-finish", args->abandoned_finish,
                  "A download every client left is finished for the cache when it would end "
                  "within this many seconds at its rate so far; otherwise it is cancelled")
      ->capture_default_str();
  cmd->add_option("--retries", args->retries, "Upstream retries per download")
      ->capture_default_str();
  cmd->add_option("--threads", args->threads, "Server threads (default: one per core)");
  cmd->add_option("--upstream-workers", args->upstream_workers,
                  "Upstream downloads that may run at once")
      ->capture_default_str();
  cmd->add_flag("--autoindex", args->autoindex, "HTML listings of directories");
  cmd->add_option("--access-log", args->access_log, "Access log file, or - for stdout");
  cmd->add_option("--access-log-format", args->access_log_format, "text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd->add_option("--node", args->node,
                  "Be a storage node named NAME: the node API under /_depot/v1/ (PUT, DELETE "
                  "and HEAD of files, inventory, status) beside normal serving; its state is "
                  "DIR/.depot-node/");
  cmd->add_option("--auth-file", args->auth_file,
                  "Storage node tokens, lines NAME:SHA256HEX(token):read|append|full; writes "
                  "need full, reads need read (without this file the node API is read-only)");
  cmd->add_option("--capacity", args->capacity,
                  "Bytes a storage node accepts, e.g. 200G; uploads in flight count (0: only "
                  "the disk's free space)")
      ->capture_default_str();
  cmd->add_flag("--proxy", args->proxy,
                "Also be a caching forward proxy (apt's Acquire::http::Proxy, dnf's proxy=) for "
                "the --proxy-allow hosts: absolute-form http:// requests are cached under "
                "/_proxy/HOST[:PORT]/ like an --upstream; other hosts, https:// and CONNECT "
                "are refused");
  cmd->add_option("--proxy-allow", args->proxy_allow,
                  "HOST[:PORT],... the proxy fetches from (repeatable; the port is part of the "
                  "name: deb.example.org, mirror:8080, [2001:db8::1]:8080)");
  cmd->add_option("--proxy-revalidate-after", args->proxy_revalidate_after,
                  "Seconds a root or index stays fresh against a proxy client's "
                  "Cache-Control: max-age=0 or no-cache (at most one conditional request "
                  "upstream per file per this period); --index-ttl still bounds it")
      ->capture_default_str();
  add_log_options(*cmd, args->log_format, args->log_level,
                  "Log format on stderr: text or json (one JSON object per event)");
  cmd->callback([args, &exit_code] { exit_code = run(*args); });
}

}  // namespace depot

// `depot run --config depot.toml` (a whole site in one process: the server, every scheduled
// mirror job, the control socket) and `depot check-config`.

#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <thread>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/daemon_options.h"
#include "cli/exit_codes.h"
#include "cli/incoming_watcher.h"
#include "cli/site_runner.h"
#include "pool/control_api.h"
#include "pool/daemon.h"
#include "serve/http_server.h"
#include "site/site_config.h"
#include "site/site_routes.h"
#include "site/site_service.h"
#include "site/systemd_notify.h"

namespace depot {
namespace {

struct RunArgs {
  std::string config = "/etc/depot/depot.toml";
  std::string port_file;
};

int check_config(const std::string& file) {
  auto cfg = site::load_site_config(file);
  if (!cfg.ok()) {
    std::fprintf(stderr, "%s\n", cfg.error().message.c_str());
    return kExitUsage;
  }
  std::printf("%s: OK: %zu jobs\n", file.c_str(), cfg->jobs.size());
  for (const site::JobConfig& j : cfg->jobs) {
    const std::string when = j.schedule.text() + (j.schedule.is_cron() && !j.schedule.zone().empty()
                                                      ? " (" + j.schedule.zone() + ")"
                                                      : "");
    // A local directory outside data_root is legitimate, but nothing serves it.
    const bool unserved =
        !j.served && !cfg->data_root.empty() && j.dest.find("://") == std::string::npos;
    std::printf("  %-20s %-6s %-14s %s <- %s%s%s\n", j.name.c_str(), j.registry.c_str(),
                when.c_str(), j.dest.c_str(), redact_credentials(j.upstream).c_str(),
                unserved ? " (not served: outside data_root)" : "",
                j.enabled ? "" : " (disabled)");
  }
  if (!cfg->listen.empty()) {
    std::printf("serves %s on %s; control socket %s\n", cfg->data_root.c_str(), cfg->listen.c_str(),
                cfg->control_socket.c_str());
  }
  return kExitComplete;
}

// The server of the site's trees, when `listen` is set.
struct SiteServer {
  ServeMetrics metrics;
  std::unique_ptr<CacheService> cache;
  std::unique_ptr<site::SiteRoutes> routes;
  std::unique_ptr<HttpServer> http;
};

int open_server(const site::SiteConfig& cfg, site::SiteService& service, const RunArgs& a,
                Logger& logger, SiteServer& out) {
  ServiceOptions so = cfg.serve;
  so.root = cfg.data_root;
  so.download.user_agent = "depot-serve/0.1";
  std::error_code ec;
  std::filesystem::create_directories(cfg.data_root, ec);
  auto cache = CacheService::create(so, out.metrics, logger);
  if (!cache.ok()) {
    logger.error("run.serve_failed", {{"error", cache.error().message}});
    return cache.error().code == ErrorCode::kRefused ? kExitBusy : kExitStorage;
  }
  out.cache = std::move(*cache);
  out.routes = std::make_unique<site::SiteRoutes>(service);
  ServerOptions sopts = cfg.server;
  if (sopts.threads <= 0)
    sopts.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  out.http = std::make_unique<HttpServer>(sopts, *out.cache, out.metrics, nullptr, logger, nullptr,
                                          out.routes.get());
  auto port = out.http->listen();
  if (!port.ok()) {
    logger.error("run.listen_failed", {{"error", port.error().message}});
    return kExitStorage;
  }
  if (!announce_listening(a.port_file, sopts.host, *port, logger)) return kExitStorage;
  return -1;
}

// The publish daemon of [publish], started, with its incoming directory watched.
struct Publisher {
  std::unique_ptr<pool::Daemon> daemon;
  std::unique_ptr<IncomingWatcher> incoming;
  void stop() {
    if (incoming) incoming->stop();
    if (daemon) daemon->stop();
  }
};

int open_publisher(const site::PublishConfig& p, Logger& logger, Publisher& out) {
  auto daemon = pool::Daemon::open(daemon_options(p), logger);
  if (!daemon.ok()) {
    logger.error("run.publish_failed",
                 {{"root", p.root.string()}, {"error", daemon.error().message}});
    return kExitStorage;
  }
  out.daemon = std::move(*daemon);
  if (Status st = out.daemon->start(); !st.ok()) {
    logger.error("run.publish_failed", {{"error", st.error().message}});
    return kExitStorage;
  }
  if (!p.incoming.empty()) {
    out.incoming =
        std::make_unique<IncomingWatcher>(p.incoming, p.incoming_repo, *out.daemon, logger);
    if (Status st = out.incoming->start(); !st.ok()) {
      logger.error("run.publish_failed", {{"error", st.error().message}});
      return kExitStorage;
    }
  }
  logger.info("run.publishing", {{"root", p.root.string()}, {"public", p.public_dir.string()}});
  return -1;
}

// Waits for SIGHUP (reload) and SIGINT/SIGTERM (stop); `stop` ends the process's loops.
void handle_signals(const sigset_t& set, const std::function<void()>& reload,
                    const std::function<void()>& stop) {
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGHUP) {
      reload();
      continue;
    }
    stop();
    return;
  }
}

int run_site(const RunArgs& a) {
  auto cfg = site::load_site_config(a.config);
  if (!cfg.ok()) {
    std::fprintf(stderr, "%s\n", cfg.error().message.c_str());
    return kExitUsage;
  }
  Logger logger(parse_log_level(cfg->log_level), parse_log_format(cfg->log_format), stderr);
  logger.set_value_filter(redact_credentials);  // upstream URLs may carry user:token@
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  // The control socket comes first: a second `depot run` of the same site stops there, before
  // it touches the history or the publish daemon's job queue. Requests wait until run().
  std::unique_ptr<site::SiteService> service;
  Publisher publisher;
  std::function<Status()> reload;
  const auto socket_dir = std::filesystem::path(cfg->control_socket).parent_path();
  std::error_code ec;
  std::filesystem::create_directories(socket_dir, ec);
  if (ec) {  // a storage problem, not another depot run (exit 6)
    logger.error("run.failed", {{"error", "cannot create " + socket_dir.string() +
                                              " for the control socket: " + ec.message()}});
    return kExitStorage;
  }
  auto control = pool::ControlServer::listen(
      cfg->control_socket,
      [&](const pool::ControlRequest& r, pool::ControlReply reply) {
        if (publisher.daemon && !r.target.starts_with("/site/")) {
          return publisher.daemon->handle(r, std::move(reply));
        }
        reply(site::site_control(*service, reload, r));
      },
      logger);
  if (!control.ok()) {
    logger.error("run.failed", {{"error", control.error().message}});
    return kExitBusy;
  }
  auto runner = make_mirror_job_runner(system_clock());
  auto opened = site::SiteService::open(*cfg, *runner, system_clock(), logger);
  if (!opened.ok()) {
    logger.error("run.failed", {{"error", opened.error().message}});
    return kExitStorage;
  }
  service = std::move(*opened);
  site::SiteService& svc = *service;
  reload = [&]() -> Status {
    auto next = site::load_site_config(a.config);
    if (!next.ok()) {
      logger.error("site.reload_refused", {{"error", next.error().message}});
      return next.error();
    }
    Status st = svc.reload(*next);
    if (!st.ok()) logger.error("site.reload_refused", {{"error", st.error().message}});
    return st;
  };
  // One socket: /site/... is the site's, everything else the publish daemon's when there is one.
  if (cfg->publish.enabled) {
    if (int code = open_publisher(cfg->publish, logger, publisher); code >= 0) return code;
  }
  SiteServer server;
  if (!cfg->listen.empty()) {
    if (int code = open_server(*cfg, svc, a, logger, server); code >= 0) return code;
  }
  const auto watchdog = site::systemd::watchdog_interval();
  svc.start([watchdog, last = std::chrono::steady_clock::time_point{}]() mutable {
    auto now = std::chrono::steady_clock::now();
    if (watchdog.count() <= 0 || now - last < watchdog) return;
    last = now;
    (void)site::systemd::watchdog();
  });
  (void)site::systemd::ready();
  (void)site::systemd::status(std::to_string(cfg->jobs.size()) + " jobs");
  logger.info("run.started", {{"config", a.config},
                              {"jobs", static_cast<uint64_t>(cfg->jobs.size())},
                              {"control_socket", cfg->control_socket}});
  std::thread control_thread([&] { (*control)->run(); });
  std::thread signals([&] {
    handle_signals(
        set,
        [&] {
          (void)site::systemd::reloading();
          (void)reload();
          (void)site::systemd::ready();
        },
        [&] {
          logger.info("run.stopping", {});
          (void)site::systemd::stopping();
          svc.stop();
          (*control)->stop();
          if (server.http) server.http->stop();
        });
  });
  if (server.http) server.http->run();
  control_thread.join();
  signals.join();
  svc.stop();
  publisher.stop();
  control->reset();
  logger.info("run.stopped", {});
  std::fflush(stdout);
  std::fflush(stderr);
  // Cache downloads may still hold connections of the stopped server: leave without unwinding.
  ::_exit(kExitComplete);
}

}  // namespace

void add_site_commands(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* run = app.add_subcommand(
      "run",
      "Run a site from one config file: serve its trees and run every mirror job on its "
      "schedule, with status JSON, a status page, metrics and a control socket");
  run->add_option("--config,-c", args->config, "The site's depot.toml")->capture_default_str();
  run->add_option("--port-file", args->port_file, "Write the bound port to this file");
  run->callback([args, &exit_code] { exit_code = run_site(*args); });

  auto file = std::make_shared<std::string>("/etc/depot/depot.toml");
  CLI::App* check =
      app.add_subcommand("check-config",
                         "Check a site's depot.toml without running anything; exit 2 lists every "
                         "problem as FILE:LINE: KEY: what is wrong");
  check->add_option("config", *file, "The depot.toml to check")->capture_default_str();
  check->callback([file, &exit_code] { exit_code = check_config(*file); });
}

}  // namespace depot

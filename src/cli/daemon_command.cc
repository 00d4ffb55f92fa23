// `depot daemon`: the publishing daemon (pool, jobs, control socket, incoming directory).

#include <signal.h>
#include <fcntl.h>
#include <sys/inotify.h>
#include <poll.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <fstream>
#include <filesystem>
#include <thread>

#include "cli/commands.h"
#include "cli/daemon_options.h"
#include "cli/exit_codes.h"
#include "pool/control_api.h"
#include "pool/daemon.h"
#include "cli/incoming_watcher.h"

namespace depot {
namespace {

namespace fs = std::filesystem;

struct DaemonArgs {
  std::string root, socket = "/run/depot.sock";
  site::PublishConfig publish;  // all but root, public_dir and grace, set from the others
  double grace = 3600;
  size_t max_connections = 256;
  double idle_timeout = 60;
  std::string log_format = "text", log_level = "info";
  DaemonArgs() { publish.workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }
};

int run(const DaemonArgs& a) {
  Logger logger(parse_log_level(a.log_level), parse_log_format(a.log_format), stderr);
  site::PublishConfig publish = a.publish;
  publish.root = a.root;
  publish.public_dir = fs::path(a.root) / "public";
  publish.grace = std::chrono::seconds(static_cast<int64_t>(a.grace));
  const pool::DaemonOptions opts = daemon_options(publish);
  if (!publish.incoming.empty() && publish.incoming_repo.empty()) {
    logger.error("usage", {{"error", "--incoming needs --incoming-repo"}});
    return kExitUsage;
  }
  // SIGINT/SIGTERM are taken by one thread with sigwait; block them everywhere else.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  auto daemon = pool::Daemon::open(opts, logger);
  if (!daemon.ok()) {
    logger.error("daemon_failed", {{"error", daemon.error().message}});
    return kExitStorage;
  }
  pool::Daemon& d = **daemon;
  if (Status st = d.start(); !st.ok()) {
    logger.error("daemon_failed", {{"error", st.error().message}});
    return kExitStorage;
  }
  pool::ControlServerOptions control;
  control.max_connections = a.max_connections;
  control.idle_timeout = std::chrono::milliseconds(static_cast<int64_t>(a.idle_timeout * 1000));
  auto server = pool::ControlServer::listen(
      a.socket,
      [&d](const pool::ControlRequest& r, pool::ControlReply reply) {
        d.handle(r, std::move(reply));
      },
      logger, control);
  if (!server.ok()) {
    logger.error("daemon_failed", {{"error", server.error().message}});
    return kExitBusy;
  }
  std::unique_ptr<IncomingWatcher> incoming;
  if (!publish.incoming.empty()) {
    incoming = std::make_unique<IncomingWatcher>(publish.incoming, publish.incoming_repo, d,
                                                 logger);
    if (Status st = incoming->start(); !st.ok()) {
      logger.error("daemon_failed", {{"error", st.error().message}});
      return kExitStorage;
    }
  }
  std::thread signals([&] {
    int sig = 0;
    sigwait(&set, &sig);
    logger.info("daemon_stopping", {{"signal", sig}});
    (*server)->stop();
  });
  signals.detach();  // ends with the process
  logger.info("daemon_started", {{"root", a.root}, {"socket", a.socket}});
  (*server)->run();
  if (incoming) incoming->stop();
  d.stop();
  server->reset();
  return kExitComplete;
}

}  // namespace

void add_daemon_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<DaemonArgs>();
  CLI::App* cmd = app.add_subcommand(
      "daemon", "Run the publishing daemon: pool, job queue and control socket");
  cmd->add_option("--root", args->root, "Root directory (pool/, depot.db, jobs.db, public/)")
      ->required();
  cmd->add_option("--socket", args->socket, "Control socket path")->capture_default_str();
  cmd->add_option("--workers", args->publish.workers,
                  "Threads for slow work: reading imports, compressing and hashing indexes")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--signing-key", args->publish.signing_key, "gpg key id that signs Release files");
  cmd->add_option("--gnupg-home", args->publish.gnupg_home, "gpg home holding the signing key");
  cmd->add_option("--grace", args->grace,
                  "Seconds an older publication stays reachable after it is replaced")
      ->capture_default_str();
  cmd->add_option("--pdiff-generations", args->publish.pdiff_generations,
                  "Index deltas (Packages.diff/) for this many past Packages versions; 0: none")
      ->check(CLI::Range(0, 1000))
      ->capture_default_str();
  cmd->add_option("--arch", args->publish.architectures, "Architectures to publish (default: the packages')")
      ->delimiter(',');
  cmd->add_flag("--no-xz", args->publish.no_xz, "Do not write Packages.xz");
  cmd->add_option("--xz-preset", args->publish.xz_preset, "Packages.xz compression preset (xz -0..-9)")
      ->check(CLI::Range(0, 9))
      ->capture_default_str();
  cmd->add_option("--gzip-level", args->publish.gzip_level, "Packages.gz compression level (1..9)")
      ->check(CLI::Range(1, 9))
      ->capture_default_str();
  cmd->add_option("--max-connections", args->max_connections,
                  "Open control connections at most; beyond, the one idle longest is closed "
                  "(or, when none is idle, the new one is answered 503)")
      ->check(CLI::Range(size_t{1}, size_t{1} << 20))
      ->capture_default_str();
  cmd->add_option("--idle-timeout", args->idle_timeout,
                  "Seconds a control connection may take to send a complete request (or to "
                  "read its answer) before it is closed")
      ->check(CLI::Range(0.01, 86400.0))
      ->capture_default_str();
  cmd->add_option("--incoming", args->publish.incoming, "Directory whose new .debs are imported");
  cmd->add_option("--incoming-repo", args->publish.incoming_repo, "Repository --incoming imports into");
  add_log_options(*cmd, args->log_format, args->log_level,
                  "Log format on stderr: text or json (one JSON object per event)");
  cmd->callback([args, &exit_code] { exit_code = run(*args); });
}

}  // namespace depot

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/exit_codes.h"

namespace depot {

void add_log_options(CLI::App& cmd, std::string& format, std::string& level,
                     const char* format_help) {
  cmd.add_option("--log-format", format, format_help)
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));
  cmd.add_option("--log-level", level, "debug, info, warn or error")
      ->capture_default_str()
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
}

int run_cli(int argc, char** argv) {
  CLI::App app{"depot: mirror, cache, publish and distribute software-package repositories"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "depot 0.1.0");
  int exit_code = 0;
  add_mirror_command(app, exit_code);
  add_serve_command(app, exit_code);
  add_daemon_command(app, exit_code);
  add_repo_command(app, exit_code);
  add_cluster_command(app, exit_code);
  add_site_commands(app, exit_code);
  add_ctl_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }
  return exit_code;
}

}  // namespace depot

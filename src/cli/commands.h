#pragma once
// Entry point of the `depot` command line. Each subcommand lives in its own file and
// registers itself on the CLI11 app (CLI11 stays inside src/cli/*.cc).

#include <string>

namespace CLI {
class App;
}

namespace depot {

// Parses argv, runs the chosen subcommand, returns the process exit code.
int run_cli(int argc, char** argv);

// Registers `depot mirror`; `exit_code` receives the subcommand's result.
void add_mirror_command(CLI::App& app, int& exit_code);
// Adds --log-format (text|json) and --log-level (debug|info|warn|error) to a subcommand.
void add_log_options(CLI::App& cmd, std::string& format, std::string& level,
                     const char* format_help);

// Registers `depot daemon`.
void add_daemon_command(CLI::App& app, int& exit_code);
// Registers `depot repo ...` and `depot jobs` (clients of the daemon).
void add_repo_command(CLI::App& app, int& exit_code);

// Registers `depot serve`.
void add_serve_command(CLI::App& app, int& exit_code);

// Registers `depot cluster ...` (the gateway and its clients).
void add_cluster_command(CLI::App& app, int& exit_code);

// Registers `depot run` and `depot check-config` (a site from one config file).
void add_site_commands(CLI::App& app, int& exit_code);
// Registers `depot ctl` (the client of `depot run`'s control socket).
void add_ctl_command(CLI::App& app, int& exit_code);

}  // namespace depot

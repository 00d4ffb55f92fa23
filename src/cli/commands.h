#pragma once
// Entry point of the `depot` command line. Each subcommand lives in its own file and
// registers itself on the CLI11 app (CLI11 stays inside src/cli/*.cc).

namespace CLI {
class App;
}

namespace depot {

// Parses argv, runs the chosen subcommand, returns the process exit code.
int run_cli(int argc, char** argv);

// Registers `depot mirror`; `exit_code` receives the subcommand's result.
void add_mirror_command(CLI::App& app, int& exit_code);
// Registers `depot serve`.
void add_serve_command(CLI::App& app, int& exit_code);

}  // namespace depot

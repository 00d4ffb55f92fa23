#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "mirror/engine.h"

namespace depot {

int run_cli(int argc, char** argv) {
  CLI::App app{"depot: mirror, cache, publish and distribute software-package repositories"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "depot 0.1.0");
  int exit_code = 0;
  add_mirror_command(app, exit_code);
  add_serve_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }
  return exit_code;
}

}  // namespace depot

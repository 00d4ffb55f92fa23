// depot: wires the command line; every subcommand lives in src/cli/.
#include "cli/commands.h"

int main(int argc, char** argv) { return depot::run_cli(argc, argv); }

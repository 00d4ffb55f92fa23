#pragma once
// Small pieces shared by subcommands. Thread-safe.

#include <cstdint>
#include <string>
#include <string_view>

#include "transfer/http_util.h"

namespace depot {

class Logger;

// A server is listening on host:port: writes the port to `port_file` (when not empty; through
// a temporary file and a rename, so a reader never sees a partial number) and prints
// "listening on http://HOST:PORT/" on stdout. False (logged as port_file_failed) when the port
// file cannot be written.
bool announce_listening(const std::string& port_file, const std::string& host, uint16_t port,
                        Logger& logger);

// [A-Za-z0-9._-], 1 to 64 bytes: a node's or gateway's name, as gateways and logs show it.
bool valid_node_name(std::string_view name);

}  // namespace depot

#pragma once
// Small checks shared by subcommands. Pure functions, thread-safe.

#include <cstdint>
#include <string>
#include <string_view>

namespace depot {

// "HOST:PORT", "[V6]:PORT" or ":PORT" (any address) into host and port; false when malformed.
bool parse_host_port(std::string_view text, std::string& host, uint16_t& port);

// [A-Za-z0-9._-], 1 to 64 bytes: a node's or gateway's name, as gateways and logs show it.
bool valid_node_name(std::string_view name);

}  // namespace depot

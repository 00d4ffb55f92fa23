#pragma once
// Networks written ADDRESS/BITS (IPv4 or IPv6; a bare address is one host), and whether a
// client's address lies in one. An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is its IPv4
// address. Plain values; pure functions.

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace depot {

struct Cidr {
  std::array<uint8_t, 16> bytes{};  // IPv4 in the first 4
  bool v4 = false;
  int bits = 0;
};

// kInvalidArgument naming `text` when it is no network (host bits set are allowed, ignored).
Result<Cidr> parse_cidr(std::string_view text);
// Parses a comma-separated list; an empty text is no network.
Result<std::vector<Cidr>> parse_cidr_list(std::string_view text);
// False for an address that does not parse.
bool cidr_contains(const Cidr& net, std::string_view address);
bool any_cidr_contains(const std::vector<Cidr>& nets, std::string_view address);

}  // namespace depot

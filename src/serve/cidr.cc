#include "serve/cidr.h"

#include "core/text.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <optional>
#include <string>

namespace depot {
namespace {

struct Address {
  std::array<uint8_t, 16> bytes{};
  bool v4 = false;
};

std::optional<Address> parse_address(std::string_view text) {
  std::string s(text);
  Address a;
  if (::inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) {
    a.v4 = true;
    return a;
  }
  if (::inet_pton(AF_INET6, s.c_str(), a.bytes.data()) != 1) return std::nullopt;
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(a.bytes.data(), kMapped, 12) == 0) {
    std::memmove(a.bytes.data(), a.bytes.data() + 12, 4);
    std::memset(a.bytes.data() + 4, 0, 12);
    a.v4 = true;
  }
  return a;
}

}  // namespace

Result<Cidr> parse_cidr(std::string_view text) {
  auto bad = [&] {
    return make_error(ErrorCode::kInvalidArgument,
                      "'" + std::string(text) + "' is not a network (ADDRESS or ADDRESS/BITS)");
  };
  size_t slash = text.find('/');
  auto addr = parse_address(text.substr(0, slash));
  if (!addr) return bad();
  Cidr c;
  c.bytes = addr->bytes;
  c.v4 = addr->v4;
  const int max = c.v4 ? 32 : 128;
  c.bits = max;
  if (slash != std::string_view::npos) {
    std::string_view b = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(b.data(), b.data() + b.size(), c.bits);
    if (b.empty() || ec != std::errc() || end != b.data() + b.size() || c.bits < 0 ||
        c.bits > max) {
      return bad();
    }
  }
  return c;
}

Result<std::vector<Cidr>> parse_cidr_list(std::string_view text) {
  std::vector<Cidr> out;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = trim(text.substr(0, comma));
    if (!item.empty()) {
      DEPOT_ASSIGN_OR_RETURN(Cidr c, parse_cidr(item));
      out.push_back(c);
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

bool cidr_contains(const Cidr& net, std::string_view address) {
  auto a = parse_address(address);
  if (!a || a->v4 != net.v4) return false;
  int bits = net.bits;
  for (size_t i = 0; bits > 0; ++i, bits -= 8) {
    const uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((a->bytes[i] & mask) != (net.bytes[i] & mask)) return false;
  }
  return true;
}

bool any_cidr_contains(const std::vector<Cidr>& nets, std::string_view address) {
  for (const Cidr& n : nets) {
    if (cidr_contains(n, address)) return true;
  }
  return false;
}

}  // namespace depot

#pragma once
// AuthTable: who may use a storage node's API, read from an auth file (`--auth-file`). Each
// line is `NAME:SHA256HEX(token):ROLE` with ROLE one of read, append, full; blank lines and
// lines starting with '#' are ignored. Only token digests are stored; a presented token is
// hashed and compared with every line in constant time. Immutable once loaded: thread-safe.

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace depot {

// Ordered: a higher role may do everything a lower one may.
enum class Role { kNone = 0, kRead = 1, kAppend = 2, kFull = 3 };
const char* role_name(Role r);

class AuthTable {
 public:
  struct Client {
    std::string name;
    Role role = Role::kNone;
  };

  // Parses auth-file text; errors are kInvalidArgument "<source>:<line>: <why>" (a malformed
  // line, a bad digest or role, a name or digest listed twice).
  static Result<AuthTable> parse(std::string_view text, std::string_view source);
  // Reads and parses `file`; errors name the file (and line).
  static Result<AuthTable> load(const std::filesystem::path& file);

  // The client whose token this is, or nullopt. Compares the token's sha256 with every entry
  // without stopping early, so the time taken does not depend on which entry (if any) matched.
  std::optional<Client> find(std::string_view token) const;
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string name;
    std::array<unsigned char, 32> digest{};
    Role role = Role::kNone;
  };
  std::vector<Entry> entries_;
};

// The token of an "Authorization: Bearer TOKEN" value (scheme case-insensitive, spaces around
// the token ignored), or nullopt when the value is empty, of another scheme or has no token.
std::optional<std::string_view> bearer_token(std::string_view authorization);

}  // namespace depot

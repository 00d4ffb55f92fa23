#include "serve/auth_file.h"

#include <set>

#include "core/digest.h"
#include "core/file_io.h"
#include "core/rel_path.h"
#include "core/text.h"

namespace depot {
namespace {

constexpr uint64_t kMaxAuthFile = 4 << 20;

// The 32 bytes of a valid 64-digit hex sha256.
std::array<unsigned char, 32> digest_bytes(std::string_view hex) {
  std::array<unsigned char, 32> out{};
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<unsigned char>(hex_digit_value(hex[2 * i]) * 16 +
                                        hex_digit_value(hex[2 * i + 1]));
  }
  return out;
}

std::array<unsigned char, 32> sha256_bytes(std::string_view data) {
  return digest_bytes(sha256_hex(data));
}

std::optional<Role> parse_role(std::string_view s) {
  if (s == "read") return Role::kRead;
  if (s == "append") return Role::kAppend;
  if (s == "full") return Role::kFull;
  return std::nullopt;
}

bool valid_client_name(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == '@';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

const char* role_name(Role r) {
  switch (r) {
    case Role::kNone: return "none";
    case Role::kRead: return "read";
    case Role::kAppend: return "append";
    case Role::kFull: return "full";
  }
  return "none";
}

Result<AuthTable> AuthTable::parse(std::string_view text, std::string_view source) {
  AuthTable table;
  std::set<std::string, std::less<>> names, digests;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl), " \t\r");
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    auto bad = [&](const std::string& why) {
      return make_error(ErrorCode::kInvalidArgument,
                        std::string(source) + ":" + std::to_string(line_no) + ": " + why);
    };
    size_t c1 = line.find(':');
    size_t c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
    if (c2 == std::string_view::npos || line.find(':', c2 + 1) != std::string_view::npos) {
      return bad("expected NAME:SHA256HEX:ROLE");
    }
    std::string_view name = line.substr(0, c1), hex = line.substr(c1 + 1, c2 - c1 - 1);
    std::string_view role_text = line.substr(c2 + 1);
    if (!valid_client_name(name)) {
      return bad("bad name " + quote_untrusted(name) + " (letters, digits, . _ - @)");
    }
    auto digest = normalize_hex_digest(DigestAlgo::kSha256, hex);
    if (!digest.ok()) return bad("not a sha256 in hex: " + quote_untrusted(hex));
    auto role = parse_role(role_text);
    if (!role) return bad("role must be read, append or full, not " + quote_untrusted(role_text));
    if (!names.insert(std::string(name)).second) return bad(std::string(name) + " listed twice");
    if (!digests.insert(*digest).second) return bad("the same token digest listed twice");
    Entry e;
    e.name = std::string(name);
    e.role = *role;
    e.digest = digest_bytes(*digest);
    table.entries_.push_back(std::move(e));
  }
  return table;
}

Result<AuthTable> AuthTable::load(const std::filesystem::path& file) {
  DEPOT_ASSIGN_OR_RETURN(std::string text, read_whole_file(file, file.string(), kMaxAuthFile));
  return parse(text, file.string());
}

std::optional<AuthTable::Client> AuthTable::find(std::string_view token) const {
  const auto presented = sha256_bytes(token);
  size_t found = entries_.size();
  for (size_t i = 0; i < entries_.size(); ++i) {
    unsigned diff = 0;
    for (size_t j = 0; j < presented.size(); ++j) diff |= presented[j] ^ entries_[i].digest[j];
    // Every entry is compared in full; only the (rare) match takes this branch.
    if (diff == 0) found = i;
  }
  if (found == entries_.size()) return std::nullopt;
  return Client{entries_[found].name, entries_[found].role};
}

std::optional<std::string_view> bearer_token(std::string_view authorization) {
  std::string_view v = trim(authorization);
  constexpr std::string_view kScheme = "bearer";
  if (v.size() <= kScheme.size() || !iequals(v.substr(0, kScheme.size()), kScheme)) {
    return std::nullopt;
  }
  if (v[kScheme.size()] != ' ' && v[kScheme.size()] != '\t') return std::nullopt;
  std::string_view token = trim(v.substr(kScheme.size()));
  if (token.empty() || token.find_first_of(" \t") != std::string_view::npos) return std::nullopt;
  return token;
}

}  // namespace depot

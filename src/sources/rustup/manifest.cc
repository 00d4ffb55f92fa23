#include "sources/rustup/manifest.h"

#include <chrono>
#include <cstdio>
#include <toml++/toml.h>

#include "core/digest.h"
#include "core/rel_path.h"

namespace depot::rustup {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::chrono::year_month_day to_ymd(std::string_view date) {
  auto num = [&](size_t pos, size_t len) {
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i)
      v = v * 10 + (date[i] - '0');
    return v;
  };
  return std::chrono::year{num(0, 4)} /
         std::chrono::month{static_cast<unsigned>(num(5, 2))} /
         std::chrono::day{static_cast<unsigned>(num(8, 2))};
}

Result<toml::table> parse_toml(std::string_view text,
                               const std::string &where) {
  try {
    return toml::parse(text, where);
  } catch (const toml::parse_error &e) {
    const auto &pos = e.source().begin;
    return make_error(ErrorCode::kParse, where + ":" +
                                             std::to_string(pos.line) + ": " +
                                             std::string(e.description()));
  }
}

// Adds the artifact of `url_key`/`hash_key` of an available target entry, when
// present.
Status add_artifact(const toml::table &entry, const char *url_key,
                    const char *hash_key, const std::string &pkg,
                    const std::string &target, std::string_view upstream,
                    const std::string &where, std::vector<Artifact> &out) {
  const toml::node *url = entry.get(url_key);
  const toml::node *hash = entry.get(hash_key);
  if (url == nullptr && hash == nullptr)
    return ok_status();
  const std::string at = where + ": pkg." + pkg + ".target." + target;
  if (url == nullptr || hash == nullptr || !url->is_string() ||
      !hash->is_string()) {
    return make_error(ErrorCode::kParse, at + ": " + url_key + " and " +
                                             hash_key +
                                             " must both be strings");
  }
  const std::string hex = *hash->value<std::string>();
  auto sha = normalize_hex_digest(DigestAlgo::kSha256, hex);
  if (!sha.ok())
    return make_error(ErrorCode::kParse,
                      at + ": bad " + hash_key + " " + quote_untrusted(hex));
  DEPOT_ASSIGN_OR_RETURN(
      std::string path,
      artifact_path(*url->value<std::string>(), upstream, at));
  out.push_back(Artifact{std::move(path), std::move(*sha), pkg, target});
  return ok_status();
}

Status add_target(const toml::node &node, const std::string &pkg,
                  const std::string &target, std::string_view upstream,
                  const std::string &where, std::vector<Artifact> &out) {
  const toml::table *entry = node.as_table();
  if (entry == nullptr) {
    return make_error(ErrorCode::kParse, where + ": pkg." + pkg + ".target." +
                                             target + " is not a table");
  }
  if (!(*entry)["available"].value_or(false))
    return ok_status();
  DEPOT_TRY(
      add_artifact(*entry, "url", "hash", pkg, target, upstream, where, out));
  DEPOT_TRY(add_artifact(*entry, "xz_url", "xz_hash", pkg, target, upstream,
                         where, out));
  return add_artifact(*entry, "zst_url", "zst_hash", pkg, target, upstream,
                      where, out);
}

} // namespace

bool valid_date(std::string_view date) {
  if (date.size() != 10 || date[4] != '-' || date[7] != '-')
    return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (!is_digit(date[i]))
      return false;
  }
  return to_ymd(date).ok();
}

std::string days_before(std::string_view date, int days) {
  std::chrono::year_month_day ymd{std::chrono::sys_days{to_ymd(date)} -
                                  std::chrono::days{days}};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()));
  return buf;
}

bool valid_channel(std::string_view channel) {
  if (channel.empty() || channel.size() > 64 || channel.front() == '.')
    return false;
  for (char c : channel) {
    bool ok = is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '.' || c == '_' || c == '-';
    if (!ok)
      return false;
  }
  return true;
}

Result<std::string> artifact_path(std::string_view url,
                                  std::string_view upstream,
                                  const std::string &where) {
  auto refuse = [&](const char *why) -> Error {
    return make_error(ErrorCode::kUnsafePath, where + ": url " +
                                                  quote_untrusted(url) +
                                                  " refused: " + why);
  };
  while (upstream.ends_with('/'))
    upstream.remove_suffix(1);
  std::string_view rest;
  for (std::string_view base : {kCanonicalServer, upstream}) {
    if (!base.empty() && url.size() > base.size() && url.starts_with(base) &&
        url[base.size()] == '/') {
      rest = url.substr(base.size() + 1);
      break;
    }
  }
  if (rest.empty())
    return refuse("not below the upstream");
  if (rest.find_first_of("?#%") != std::string_view::npos) {
    return refuse("query, fragment or escape");
  }
  auto rel = RelPath::parse(rest);
  if (!rel.ok())
    return refuse("unsafe path");
  std::string_view p = rel->str();
  size_t slash = p.rfind('/');
  std::string_view file =
      slash == std::string_view::npos ? p : p.substr(slash + 1);
  if (!p.starts_with("dist/") || slash != 15 || !valid_date(p.substr(5, 10)) ||
      file.starts_with("channel-rust-")) {
    return refuse("not a dist/YYYY-MM-DD/ file");
  }
  return rel->str();
}

Result<ChannelManifest>
parse_channel_manifest(std::string_view text,
                       const std::vector<std::string> &targets,
                       std::string_view upstream, const std::string &where) {
  DEPOT_ASSIGN_OR_RETURN(toml::table doc, parse_toml(text, where));
  std::optional<std::string> version =
      doc["manifest-version"].value<std::string>();
  if (!version || *version != "2") {
    return make_error(ErrorCode::kParse,
                      where + ": manifest-version is not \"2\"");
  }
  ChannelManifest m;
  m.date = doc["date"].value_or(std::string());
  if (!valid_date(m.date)) {
    return make_error(ErrorCode::kParse,
                      where + ": bad date " + quote_untrusted(m.date));
  }
  const toml::table *pkgs = doc["pkg"].as_table();
  if (pkgs == nullptr)
    return make_error(ErrorCode::kParse, where + ": no [pkg] table");
  for (const auto &[key, node] : *pkgs) {
    const std::string pkg(key.str());
    const toml::table *by_target =
        node.as_table() ? (*node.as_table())["target"].as_table() : nullptr;
    if (by_target == nullptr) {
      return make_error(ErrorCode::kParse, where + ": pkg." +
                                               quote_untrusted(pkg) +
                                               " has no target table");
    }
    for (const auto &[tkey, tnode] : *by_target) {
      const std::string target(tkey.str());
      bool chosen = target == "*";
      for (const auto &t : targets)
        chosen = chosen || t == target;
      if (chosen)
        DEPOT_TRY(add_target(tnode, pkg, target, upstream, where, m.artifacts));
    }
  }
  return m;
}

Result<std::string> parse_sha256_file(std::string_view text,
                                      const std::string &where) {
  std::string_view hex = text.substr(0, text.find_first_of(" \t\r\n"));
  auto sha = normalize_hex_digest(DigestAlgo::kSha256, hex);
  if (!sha.ok()) {
    return make_error(ErrorCode::kParse,
                      where + ": not a sha256 file: " + quote_untrusted(hex));
  }
  return std::move(*sha);
}

Result<std::string> parse_release_version(std::string_view text,
                                          const std::string &where) {
  DEPOT_ASSIGN_OR_RETURN(toml::table doc, parse_toml(text, where));
  std::optional<std::string> schema =
      doc["schema-version"].value<std::string>();
  std::string version = doc["version"].value_or(std::string());
  if (!schema || *schema != "1") {
    return make_error(ErrorCode::kParse,
                      where + ": schema-version is not \"1\"");
  }
  bool ok = !version.empty() && version.size() <= 64 && is_digit(version[0]);
  for (char c : version) {
    ok = ok && (is_digit(c) || (c >= 'a' && c <= 'z') ||
                (c >= 'A' && c <= 'Z') || c == '.' || c == '-' || c == '+');
  }
  if (!ok)
    return make_error(ErrorCode::kParse,
                      where + ": bad version " + quote_untrusted(version));
  return version;
}

} // namespace depot::rustup

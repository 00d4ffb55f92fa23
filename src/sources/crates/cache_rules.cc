#include "sources/crates/cache_rules.h"

#include <nlohmann/json.hpp>

#include "sources/crates/index_file.h"

namespace depot::crates {

bool is_cache_document(std::string_view rel) { return rel == "config.json"; }

Result<std::string> rewrite_config(std::string_view rel, std::string_view body,
                                   std::string_view local_url) {
  const std::string where(rel);
  DEPOT_TRY(parse_config_dl(body, where));
  nlohmann::json config = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!config.is_object()) return make_error(ErrorCode::kParse, where + ": not a JSON object");
  config.erase("api");
  config["dl"] = std::string(local_url) + "/crates/{crate}/{crate}-{version}.crate";
  // Invalid UTF-8 in a kept field is replaced rather than thrown on.
  return config.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::optional<BlobOrigin> crate_origin(std::string_view rel, const ReadCachedFn& read) {
  auto parts = split_path(rel);
  if (parts.size() != 3 || parts[0] != "crates") return std::nullopt;
  std::string_view name = parts[1], file = parts[2];
  if (!valid_crate_name(name) || !file.starts_with(name) || !file.ends_with(".crate") ||
      file.size() < name.size() + 8 || file[name.size()] != '-') {
    return std::nullopt;
  }
  std::string_view vers = file.substr(name.size() + 1, file.size() - name.size() - 7);
  auto path = index_path(name);
  if (!valid_version(vers) || !path.ok()) return std::nullopt;
  auto config = read("config.json");
  auto index = read(*path);
  if (!config || !index) return std::nullopt;
  auto dl = parse_config_dl(*config, "config.json");
  auto versions = parse_index_file(*index, name, *path);
  if (!dl.ok() || !versions.ok()) return std::nullopt;
  for (const Version& v : *versions) {
    if (v.name != name || v.vers != vers) continue;
    BlobOrigin origin;
    origin.url = crate_url(*dl, v);
    origin.file.digests.sha256 = v.cksum;
    return origin;
  }
  return std::nullopt;
}

}  // namespace depot::crates

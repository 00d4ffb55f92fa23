#include "sources/npm/cache_rules.h"

#include "core/rel_path.h"
#include "sources/npm/packument.h"

namespace depot::npm {
namespace {

constexpr std::string_view kKeptAs = "/index.json";

// "NAME/-/FILE.tgz" -> {NAME, FILE}; nullopt for any other path.
std::optional<std::pair<std::string_view, std::string_view>> split_tarball(std::string_view rel) {
  size_t dash = rel.find("/-/");
  if (dash == std::string_view::npos) return std::nullopt;
  std::string_view name = rel.substr(0, dash), file = rel.substr(dash + 3);
  if (!valid_package_name(name) || !valid_tarball_file(file)) return std::nullopt;
  return std::make_pair(name, file);
}

}  // namespace

bool is_cache_document(std::string_view rel) {
  return rel.ends_with(kKeptAs) && valid_package_name(rel.substr(0, rel.size() - kKeptAs.size()));
}

Result<std::optional<CacheRoute>> cache_route(std::string_view rel) {
  if (valid_package_name(rel)) {
    return std::optional<CacheRoute>(CacheRoute{std::string(rel) + std::string(kKeptAs),
                                                packument_url_path(rel), "application/json"});
  }
  if (split_tarball(rel)) return std::optional<CacheRoute>();
  return make_error(ErrorCode::kNotFound,
                    quote_untrusted(rel) + ": neither a package name nor one's tarball");
}

Result<RewrittenDocument> rewrite_packument(std::string_view rel, std::string_view body,
                                            std::string_view local_url, std::string_view accept) {
  if (!is_cache_document(rel)) {
    return make_error(ErrorCode::kParse, quote_untrusted(rel) + ": not a kept packument");
  }
  std::string name(rel.substr(0, rel.size() - kKeptAs.size()));
  DEPOT_ASSIGN_OR_RETURN(Packument doc, Packument::parse(body, name, std::string(rel)));
  std::string base = std::string(local_url) + "/" + name + "/-/";
  doc.rewrite_tarballs([&](std::string_view, const Tarball& t) { return base + t.file; });
  if (accept.find(kAbbreviatedType) != std::string_view::npos) {
    return RewrittenDocument{doc.abbreviated_json(), std::string(kAbbreviatedType)};
  }
  return RewrittenDocument{doc.full_json(), "application/json"};
}

std::optional<BlobOrigin> tarball_origin(std::string_view rel, const ReadCachedFn& read) {
  auto split = split_tarball(rel);
  if (!split) return std::nullopt;
  auto [name, file] = *split;
  std::string kept = std::string(name) + std::string(kKeptAs);
  auto body = read(kept);
  if (!body) return std::nullopt;
  auto doc = Packument::parse(*body, name, kept);
  if (!doc.ok()) return std::nullopt;
  for (const VersionInfo& v : doc->versions()) {
    if (v.tarball.file != file) continue;
    BlobOrigin origin;
    origin.url = v.tarball.url;
    origin.file.digests = v.tarball.digests;
    return origin;
  }
  return std::nullopt;
}

}  // namespace depot::npm

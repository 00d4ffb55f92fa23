// npm's descriptor: `depot mirror npm` options; tarballs never change; a package's directory
// answers GET /NAME (and /@scope%2fname, /@scope/name) with its packument, in the abbreviated form
// when the client asks for it; through a cache, packuments are rewritten (cache_rules.h).

#include "sources/npm/npm_registry.h"

#include "sources/npm/cache_rules.h"
#include "sources/npm/npm_source.h"
#include "sources/npm/packument.h"

namespace depot::npm {
namespace {

constexpr PageVariant kFull{"index.json", "application/json", "application/json"};
constexpr PageVariant kAbbreviated{"index.abbrev.json", kAbbreviatedType, kAbbreviatedType};

std::vector<PageVariant> pages_for(std::string_view accept) {
  if (accept.find(kAbbreviatedType) != std::string_view::npos) return {kAbbreviated, kFull};
  return {kFull};
}

// ".../@scope%2fname..." (the form npm requests, below any prefix) -> ".../@scope/name...": the
// first segment starting with '@' whose first %-escape is %2f.
std::optional<std::string> scoped_alias(std::string_view target) {
  size_t at = target.find("/@");
  if (at == std::string_view::npos) return std::nullopt;
  size_t esc = target.find('%', at);
  size_t end = target.find_first_of("/?", at + 1);
  if (esc == std::string_view::npos || (end != std::string_view::npos && end < esc) ||
      esc + 3 > target.size() || target[esc + 1] != '2' ||
      (target[esc + 2] != 'f' && target[esc + 2] != 'F')) {
    return std::nullopt;
  }
  std::string out(target);
  out.replace(esc, 3, "/");
  return out;
}

}  // namespace

RegistryDescriptor descriptor() {
  using Kind = RegistryOption::Kind;
  RegistryDescriptor d;
  d.name = "npm";
  d.upstream_help = "an npm registry such as https://registry.npmjs.org";
  d.factory = make_npm_source;
  d.options = {
      {"--base-url", "base-url", Kind::kValue,
       "the http(s) URL the mirror directory is served at (required): "
       "packuments name their "
       "tarballs there"},
      {"--package", "package", Kind::kList, "packages to mirror, e.g. react,@types/node"},
      {"--packages-from", "package", Kind::kListFile, "file naming packages to mirror"},
      {"--with-deps", "with-deps", Kind::kFlag,
       "add every package the mirrored versions depend on (dependencies, "
       "optional and peer), "
       "transitively"},
      {"--versions", "versions", Kind::kValue,
       "all (default) or latest-N: the N highest versions plus those dist-tags "
       "name"},
  };
  d.paths.is_blob = [](PathParts parts) { return parts.back().ends_with(".tgz"); };
  d.paths.types = {{"tgz", "application/gzip"}};
  d.paths.page_variants = {kFull, kAbbreviated};
  d.paths.pages_for = pages_for;
  d.paths.pages_at_directory_name = true;
  d.paths.request_alias = scoped_alias;
  d.paths.is_document = is_cache_document;
  d.paths.rewrite_document = rewrite_packument;
  d.paths.cache_route = cache_route;
  d.paths.blob_origin = tarball_origin;
  return d;
}

}  // namespace depot::npm

// crates' descriptor: `depot mirror crates` options; .crate files never change, index files
// and config.json are indexes; through a cache config.json is rewritten (cache_rules.h).

#include "sources/crates/cache_rules.h"
#include "sources/crates/crates_source.h"

namespace depot::crates {

RegistryDescriptor descriptor() {
  using Kind = RegistryOption::Kind;
  RegistryDescriptor d;
  d.name = "crates";
  d.upstream_help = "a crates.io sparse index such as https://index.crates.io";
  d.factory = make_crates_source;
  d.options = {
      {"--base-url", "base-url", Kind::kValue,
       "the http(s) URL the mirror directory is served at (required): config.json's dl points "
       "there"},
      {"--crate", "crate", Kind::kList, "crates to mirror, e.g. serde,rand"},
      {"--crates-from", "crate", Kind::kListFile, "file naming crates to mirror"},
      {"--git-index", "git-index", Kind::kValue,
       "without --crate/--crates-from every crate is mirrored, enumerated from this git index "
       "repository (default https://github.com/rust-lang/crates.io-index), kept fetched in "
       "DIR/.depot/state/"},
      {"--with-deps", "with-deps", Kind::kFlag,
       "add every crate the chosen ones depend on (all kinds, every version), transitively"},
  };
  d.paths.is_blob = [](PathParts parts) { return parts.back().ends_with(".crate"); };
  d.paths.types = {{"crate", "application/gzip"}};
  d.paths.is_document = is_cache_document;
  d.paths.rewrite_document = [](std::string_view rel, std::string_view body,
                                std::string_view local_url,
                                std::string_view) -> Result<RewrittenDocument> {
    DEPOT_ASSIGN_OR_RETURN(std::string text, rewrite_config(rel, body, local_url));
    return RewrittenDocument{std::move(text), ""};
  };
  d.paths.blob_origin = crate_origin;
  return d;
}

}  // namespace depot::crates

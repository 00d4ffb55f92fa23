#pragma once
// crates through a pull-through cache (PathRules hooks): config.json is served with "dl" at
// the cache and no "api"; the cache serves each .crate at crates/NAME/NAME-VERSION.crate below
// the upstream's prefix, fetched from the upstream's own dl and verified by its index line's
// cksum. Pure; thread-safe.

#include <optional>
#include <string>
#include <string_view>

#include "sources/registry.h"

namespace depot::crates {

// True for "config.json" (the sparse index's root document).
bool is_cache_document(std::string_view rel);

// config.json `body` with "dl" = local_url + "/crates/{crate}/{crate}-{version}.crate", "api"
// dropped, other fields kept; kParse when it is no registry config.
Result<std::string> rewrite_config(std::string_view rel, std::string_view body,
                                   std::string_view local_url);

// For "crates/NAME/NAME-VERSION.crate": the URL the cached config.json's dl gives it and the
// cksum the cached index file of NAME declares; nullopt for other paths or when either is not
// cached or does not list it.
std::optional<BlobOrigin> crate_origin(std::string_view rel, const ReadCachedFn& read);

}  // namespace depot::crates

#pragma once
// npm through a pull-through cache (PathRules hooks). Below an upstream bound to npm, GET NAME
// (or @scope/name) is the package's packument, fetched in full from the upstream's
// NAME (@scope%2fname) and kept as NAME/index.json as upstream sent it; every answer names the
// tarballs at the cache (NAME/-/FILE.tgz), in full or abbreviated by the client's Accept. A
// tarball is fetched from the URL the cached packument names for it and verified against its
// dist.integrity / shasum. Every other path is refused. Pure; thread-safe.

#include <optional>
#include <string>
#include <string_view>

#include "sources/registry.h"

namespace depot::npm {

// True for "NAME/index.json" with a valid package name (the file a packument is kept as).
bool is_cache_document(std::string_view rel);

// A packument request ("NAME", "@scope/name") -> its route; a tarball path
// ("NAME/-/FILE.tgz") -> nullopt; anything else -> kNotFound naming `rel`.
Result<std::optional<CacheRoute>> cache_route(std::string_view rel);

// The packument kept at `rel` ("NAME/index.json"), of upstream bytes `body`, with every
// dist.tarball at local_url + "/NAME/-/FILE": abbreviated (kAbbreviatedType) when `accept`
// names that type, else in full (application/json). kParse when it is no packument of NAME.
Result<RewrittenDocument> rewrite_packument(std::string_view rel, std::string_view body,
                                            std::string_view local_url, std::string_view accept);

// For "NAME/-/FILE.tgz": the upstream URL and digests the cached packument of NAME gives that
// file; nullopt for other paths, or when the packument is not cached, does not parse or does
// not list the file.
std::optional<BlobOrigin> tarball_origin(std::string_view rel, const ReadCachedFn& read);

}  // namespace depot::npm

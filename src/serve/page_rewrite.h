#pragma once
// Pages through the cache: the directory pages registries serve (PathRules::pages_for, e.g.
// PyPI's simple pages), and where an upstream URL lives locally, for rewriting their links.
// Pure; thread-safe.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sources/registry.h"

namespace depot {

struct UpstreamConfig {
  std::string prefix;  // request path prefix without slashes, e.g. "debian" ("" = everything)
  std::string url;     // base URL without a trailing slash
  // The registry this upstream is (RegistryDescriptor::name): only its documents and its
  // PathRules::cache_route apply below the prefix. "": every registry's documents but those of
  // registries with a cache_route.
  std::string registry = {};
  // A --proxy-allow host: plain files only (no registry documents, pages or blob origins, which
  // could name other hosts) and upstream redirects are not followed (they could lead off the
  // allow-list).
  bool proxied = false;
};

// The local request path ("/prefix/rest") of an absolute URL under one of `upstreams` (the
// longest matching URL wins), or "" when it is under none.
std::string local_path_for(std::string_view url, const std::vector<UpstreamConfig>& upstreams);

// The page variants a cache fetches for a directory with Accept `accept`, best first: the
// first registry's that serves and rewrites pages; index.html alone when none does.
std::vector<PageVariant> directory_pages(std::string_view accept);

// A page a served directory may hold, and whether it is answered at the directory's name
// without a trailing slash.
struct DirectoryPage {
  PageVariant variant;
  bool at_directory_name = false;
};
// The pages answering a request of a mirrored directory with Accept `accept`: every
// registry's, registry by registry, best first within each; index.html alone when none serves
// pages. The first one present in the directory is served.
std::vector<DirectoryPage> mirror_directory_pages(std::string_view accept);

// `target` rewritten by the first registry's request_alias that claims it, else unchanged.
std::string canonical_target(std::string_view target);

// The registry and variant of a page stored as file name `name` ("index.v1_json"); nullopt
// when `name` is no registry's page.
std::optional<std::pair<const RegistryDescriptor*, PageVariant>> page_variant(std::string_view name);

}  // namespace depot

#include "serve/page_rewrite.h"

#include <strings.h>

namespace depot {

std::string local_path_for(std::string_view url, const std::vector<UpstreamConfig>& upstreams) {
  const UpstreamConfig* best = nullptr;
  for (const auto& u : upstreams) {
    if (url.size() < u.url.size() || strncasecmp(url.data(), u.url.data(), u.url.size()) != 0) {
      continue;
    }
    if (url.size() > u.url.size() && url[u.url.size()] != '/') continue;
    if (!best || u.url.size() > best->url.size()) best = &u;
  }
  if (!best) return "";
  std::string_view rest = url.substr(best->url.size());
  std::string local;
  if (!best->prefix.empty()) local.append("/").append(best->prefix);
  local.append(rest.empty() ? std::string_view("/") : rest);
  return local;
}

std::vector<PageVariant> directory_pages(std::string_view accept) {
  for (const RegistryDescriptor* r : registries()) {
    if (r->paths.pages_for && r->paths.rewrite_page) return r->paths.pages_for(accept);
  }
  return {PageVariant{"index.html", "text/html; charset=utf-8", "text/html"}};
}

std::vector<DirectoryPage> mirror_directory_pages(std::string_view accept) {
  std::vector<DirectoryPage> out;
  for (const RegistryDescriptor* r : registries()) {
    if (!r->paths.pages_for) continue;
    for (const PageVariant& v : r->paths.pages_for(accept)) {
      out.push_back({v, r->paths.pages_at_directory_name});
    }
  }
  if (out.empty()) out.push_back({{"index.html", "text/html; charset=utf-8", "text/html"}, false});
  return out;
}

std::string canonical_target(std::string_view target) {
  for (const RegistryDescriptor* r : registries()) {
    if (!r->paths.request_alias) continue;
    if (auto alias = r->paths.request_alias(target)) return std::move(*alias);
  }
  return std::string(target);
}

std::optional<std::pair<const RegistryDescriptor*, PageVariant>> page_variant(
    std::string_view name) {
  for (const RegistryDescriptor* r : registries()) {
    for (const PageVariant& v : r->paths.page_variants) {
      if (v.file == name) return std::make_pair(r, v);
    }
  }
  return std::nullopt;
}

}  // namespace depot

// PyPI's descriptor: wheels, sdists and .metadata files never change (files.pythonhosted.org
// keeps them under packages/); simple pages are indexes, served for a directory in the form the
// client asks for (PEP 691 JSON as index.v1_json, else HTML as index.html) and rewritten by a
// cache to point at it.

#include "sources/pypi/page_rewrite.h"
#include "sources/pypi/pypi_source.h"
#include "sources/pypi/simple_index.h"

namespace depot::pypi {
namespace {

bool is_blob(PathParts parts) {
  return ends_with_any(parts.back(), {".whl", ".metadata"}) || has_ancestor(parts, "packages");
}

// A wheel's name is its first '-' field (PEP 427), an sdist's all but its last (PEP 625);
// normalised as the project's simple page is (PEP 503).
std::optional<std::string> package_name(std::string_view name) {
  std::string_view n;
  if (name.ends_with(".whl")) {
    size_t dash = name.find('-');
    if (dash != std::string_view::npos) n = name.substr(0, dash);
  } else {
    for (std::string_view ext : {".tar.gz", ".zip", ".tar.bz2"}) {
      if (name.ends_with(ext)) n = drop_dash_fields(name.substr(0, name.size() - ext.size()), 1);
    }
  }
  if (n.empty()) return std::nullopt;
  return normalize_name(n);
}

constexpr PageVariant kJson{"index.v1_json", kSimpleJson, kSimpleJson};
constexpr PageVariant kHtml{"index.html", "text/html; charset=utf-8", "text/html"};

std::vector<PageVariant> pages_for(std::string_view accept) {
  if (prefers_json(accept)) return {kJson, kHtml};
  return {kHtml};
}

// The upstream may answer HTML when asked for JSON: its content type decides.
Result<RewrittenPage> rewrite_page(std::string_view body, std::string_view content_type,
                                   std::string_view file, std::string_view page_url,
                                   const LocalPathFn& local_path) {
  bool json = content_type.find("json") != std::string_view::npos ||
              (content_type.empty() && file == kJson.file);
  return rewrite_simple_page(body, json, page_url, local_path);
}

}  // namespace

RegistryDescriptor descriptor() {
  using Kind = RegistryOption::Kind;
  RegistryDescriptor d;
  d.name = "pypi";
  d.upstream_help = "a PyPI host such as https://pypi.org (or its .../simple index)";
  d.factory = make_pypi_source;
  d.options = {
      {"--project", "project", Kind::kList,
       "projects to mirror, e.g. requests,numpy (names are normalised per PEP 503); the mirror "
       "dir is then a PyPI index at <url of dir>/simple/"},
      {"--projects-from", "project", Kind::kListFile, "file naming projects to mirror"},
  };
  d.paths.is_blob = is_blob;
  d.paths.types = {{"whl", "application/zip"}, {"metadata", "text/plain; charset=utf-8"}};
  d.paths.page_variants = {kJson, kHtml};
  d.paths.pages_for = pages_for;
  d.paths.rewrite_page = rewrite_page;
  d.paths.package_name = package_name;
  return d;
}

}  // namespace depot::pypi

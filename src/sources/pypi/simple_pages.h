#pragma once
// The PyPI Simple Repository API, write side: the mirror's own project and root pages, as
// PEP 503 HTML and PEP 691 JSON (api-version 1.0), with links relative to the page.

#include <string>
#include <string_view>
#include <vector>

#include "sources/pypi/simple_index.h"

namespace depot::pypi {

// One file as a mirrored project page lists it.
struct ListedFile {
  DistFile file;
  std::string href;  // URL of the file relative to the page, percent-encoded, no fragment
};

// `name` is the normalised project name.
std::string project_html(std::string_view name, const std::vector<ListedFile>& files);
std::string project_json(std::string_view name, const std::vector<ListedFile>& files);
// `names` are normalised project names; each links to "<name>/".
std::string root_html(const std::vector<std::string>& names);
std::string root_json(const std::vector<std::string>& names);

}  // namespace depot::pypi

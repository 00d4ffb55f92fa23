#pragma once
// Freshness classes of cached files, by path, from the registries' PathRules
// (sources/registry.h). Pure; thread-safe.

#include <string_view>
#include <vector>

#include "sources/registry.h"

namespace depot {

// kBlob when a registry calls the path a blob, else kRoot when one calls it a root, else
// kIndex.
FileClass classify_path(std::string_view rel);
const char* file_class_name(FileClass c);  // "blob", "root", "index"

// The roots that live beside the root `rel` in its directory (`rel` itself excluded); empty
// when `rel` is no root.
std::vector<std::string> sibling_roots(std::string_view rel);

}  // namespace depot

#include "serve/file_class.h"

namespace depot {
namespace {

bool any_registry(PathParts parts, std::function<bool(PathParts)> PathRules::*rule) {
  for (const RegistryDescriptor* r : registries()) {
    const auto& pred = r->paths.*rule;
    if (pred && pred(parts)) return true;
  }
  return false;
}

}  // namespace

FileClass classify_path(std::string_view rel) {
  auto parts = split_path(rel);
  if (parts.empty()) return FileClass::kIndex;
  if (any_registry(parts, &PathRules::is_blob)) return FileClass::kBlob;
  if (any_registry(parts, &PathRules::is_root)) return FileClass::kRoot;
  return FileClass::kIndex;
}

const char* file_class_name(FileClass c) {
  switch (c) {
    case FileClass::kBlob:
      return "blob";
    case FileClass::kRoot:
      return "root";
    case FileClass::kIndex:
      return "index";
  }
  return "index";
}

std::vector<std::string> sibling_roots(std::string_view rel) {
  auto parts = split_path(rel);
  std::vector<std::string> out;
  if (parts.empty()) return out;
  std::string_view dir = rel.substr(0, rel.size() - parts.back().size());
  for (const RegistryDescriptor* r : registries()) {
    if (!r->paths.is_root || !r->paths.is_root(parts)) continue;
    for (std::string_view name : r->paths.root_names) {
      if (name != parts.back()) out.push_back(std::string(dir) + std::string(name));
    }
  }
  return out;
}

}  // namespace depot

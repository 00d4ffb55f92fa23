#include "sources/registry.h"

namespace depot {

std::vector<std::string_view> split_path(std::string_view rel) {
  std::vector<std::string_view> parts;
  size_t pos = 0;
  while (pos <= rel.size()) {
    size_t end = rel.find('/', pos);
    if (end == std::string_view::npos) end = rel.size();
    if (end > pos) parts.push_back(rel.substr(pos, end - pos));
    pos = end + 1;
  }
  return parts;
}

bool all_hex(std::string_view s) {
  for (char c : s) {
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex) return false;
  }
  return !s.empty();
}

bool has_ancestor(PathParts parts, std::string_view dir) {
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    if (parts[i] == dir) return true;
  }
  return false;
}

std::string_view parent_name(PathParts parts) {
  return parts.size() >= 2 ? parts[parts.size() - 2] : std::string_view();
}

bool ends_with_any(std::string_view name, std::initializer_list<std::string_view> suffixes) {
  for (std::string_view s : suffixes) {
    if (name.ends_with(s)) return true;
  }
  return false;
}

}  // namespace depot

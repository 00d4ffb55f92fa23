#include "sources/registry.h"

#include <fstream>

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

std::string_view drop_dash_fields(std::string_view stem, int fields) {
  size_t end = stem.size();
  for (int i = 0; i < fields; ++i) {
    size_t dash = stem.rfind('-', end == 0 ? 0 : end - 1);
    if (dash == std::string_view::npos || dash == 0) return {};
    end = dash;
  }
  return stem.substr(0, end);
}

const RegistryOption* find_option(const RegistryDescriptor& d, std::string_view flag) {
  for (const RegistryOption& o : d.options) {
    if (o.flag == flag) return &o;
  }
  return nullptr;
}

Status append_list_file(const std::filesystem::path& file, std::vector<std::string>& out) {
  std::ifstream in(file);
  if (!in) return make_error(ErrorCode::kInvalidArgument, file.string() + ": cannot read");
  for (std::string line; std::getline(in, line);) {
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) continue;
    out.push_back(line.substr(first, line.find_last_not_of(" \t\r") + 1 - first));
  }
  return {};
}

}  // namespace depot

#include "serve/file_class.h"

#include <vector>

namespace depot {
namespace {

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool all_hex(std::string_view s) {
  for (char c : s) {
    if (!is_hex(c)) return false;
  }
  return !s.empty();
}

bool ends_with_any(std::string_view name, std::initializer_list<std::string_view> suffixes) {
  for (std::string_view s : suffixes) {
    if (name.ends_with(s)) return true;
  }
  return false;
}

std::vector<std::string_view> split(std::string_view rel) {
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

// True when `dir` is one of the directories above the file (not the file itself).
bool under(const std::vector<std::string_view>& parts, std::string_view dir) {
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    if (parts[i] == dir) return true;
  }
  return false;
}

bool is_blob(const std::vector<std::string_view>& parts) {
  std::string_view name = parts.back();
  std::string_view parent = parts.size() >= 2 ? parts[parts.size() - 2] : std::string_view();
  // by-hash/<ALGO>/<hex>
  if (parts.size() >= 3 && parts[parts.size() - 3] == "by-hash" && name.size() >= 32 &&
      all_hex(name)) {
    return true;
  }
  if (under(parts, "pool") && (ends_with_any(name, {".deb", ".udeb", ".ddeb", ".dsc", ".diff.gz",
                                                    ".buildinfo", ".changes", ".tar"}) ||
                               name.find(".tar.") != std::string_view::npos)) {
    return true;
  }
  if (ends_with_any(name,
                    {".rpm", ".drpm", ".srpm", ".whl", ".metadata", ".conda", ".tgz", ".crate"})) {
    return true;
  }
  if (parent == "repodata") {
    size_t dash = name.find('-');
    return dash != std::string_view::npos && dash >= 32 && all_hex(name.substr(0, dash));
  }
  if (name.ends_with(".tar.bz2") && !name.starts_with("repodata")) return true;  // conda v1
  return under(parts, "packages");  // PyPI files.pythonhosted.org layout
}

bool is_root(const std::vector<std::string_view>& parts) {
  std::string_view name = parts.back();
  std::string_view parent = parts.size() >= 2 ? parts[parts.size() - 2] : std::string_view();
  if (under(parts, "dists") &&
      (name == "InRelease" || name == "Release" || name == "Release.gpg")) {
    return true;
  }
  return parent == "repodata" &&
         (name == "repomd.xml" || name == "repomd.xml.asc" || name == "repomd.xml.key");
}

}  // namespace

FileClass classify_path(std::string_view rel) {
  auto parts = split(rel);
  if (parts.empty()) return FileClass::kIndex;
  if (is_blob(parts)) return FileClass::kBlob;
  if (is_root(parts)) return FileClass::kRoot;
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

}  // namespace depot

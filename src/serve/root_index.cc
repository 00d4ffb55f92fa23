#include "serve/root_index.h"

#include "core/rel_path.h"

namespace depot {

std::vector<std::string> candidate_roots(std::string_view rel) {
  for (const RegistryDescriptor* r : registries()) {
    if (!r->paths.candidate_roots) continue;
    auto roots = r->paths.candidate_roots(rel);
    if (!roots.empty()) return roots;
  }
  return {};
}

std::shared_ptr<RootIndex::Parsed> RootIndex::parse(const std::string& root_rel,
                                                    std::string_view text) {
  auto parsed = std::make_shared<Parsed>();
  auto parts = split_path(root_rel);
  if (parts.empty()) return parsed;
  for (const RegistryDescriptor* r : registries()) {
    const PathRules& p = r->paths;
    if (!p.read_root || !p.is_root || !p.is_root(parts)) continue;
    for (auto& [rel, named] : p.read_root(root_rel, text)) parsed->files[rel] = std::move(named);
    break;
  }
  return parsed;
}

std::optional<NamedIndex> RootIndex::lookup_parsed(const std::string& root_rel,
                                                   const std::string& version,
                                                   std::string_view rel, bool* parsed) {
  std::shared_ptr<Parsed> p;
  {
    std::lock_guard lock(mu_);
    auto it = roots_.find(root_rel);
    if (it != roots_.end() && it->second->version == version) p = it->second;
  }
  *parsed = p != nullptr;
  if (!p) return std::nullopt;
  auto f = p->files.find(rel);
  if (f == p->files.end()) return std::nullopt;
  return f->second;
}

std::optional<NamedIndex> RootIndex::lookup(const std::string& root_rel,
                                            const std::string& version,
                                            std::string_view root_text, std::string_view rel) {
  bool parsed = false;
  auto hit = lookup_parsed(root_rel, version, rel, &parsed);
  if (parsed) return hit;
  std::shared_ptr<Parsed> p = parse(root_rel, root_text);
  p->version = version;
  {
    std::lock_guard lock(mu_);
    roots_[root_rel] = p;
  }
  auto f = p->files.find(rel);
  if (f == p->files.end()) return std::nullopt;
  return f->second;
}

std::optional<NamedIndex> by_hash_expectation(std::string_view key) {
  for (const RegistryDescriptor* r : registries()) {
    if (!r->paths.self_named) continue;
    if (auto n = r->paths.self_named(key)) return n;
  }
  return std::nullopt;
}

}  // namespace depot

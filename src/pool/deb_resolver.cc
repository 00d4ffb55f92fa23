#include "pool/deb_resolver.h"

#include "pool/deb_reader.h"
#include "pool/paragraph.h"

namespace depot::pool {
namespace {

bool native(const std::string& ctx, const std::string& arch) {
  return ctx == "all" || arch == ctx || arch == "all";
}

bool arch_ok(const Relation& rel, const std::string& ctx, const std::string& arch) {
  if (rel.arch_qualifier.empty() || rel.arch_qualifier == "native") return native(ctx, arch);
  if (rel.arch_qualifier == "any") return true;
  return arch == rel.arch_qualifier || arch == "all";
}

// Preference: the depender's architecture (or "all") first, then the newest version, then the
// exact architecture, then the lowest id (deterministic).
bool better(const StoredPackage& a, const StoredPackage& b, const std::string& ctx) {
  bool na = native(ctx, a.package.architecture), nb = native(ctx, b.package.architecture);
  if (na != nb) return na;
  int c = compare_versions(a.package.version, b.package.version);
  if (c != 0) return c > 0;
  bool ea = a.package.architecture == ctx, eb = b.package.architecture == ctx;
  if (ea != eb) return ea;
  return a.id < b.id;
}

PackageRef ref_of(const StoredPackage& sp) {
  return {sp.id, sp.package.name, sp.package.version, sp.package.architecture};
}

}  // namespace

std::string UnresolvedRelation::to_string() const {
  return package.name + " " + package.version + " (" + package.architecture + ") " + field + " '" +
         relation + "' for " + arch;
}

std::string describe(const StoredPackage& sp) {
  return sp.package.name + " " + sp.package.version + " (" + sp.package.architecture + ")";
}

Resolver::Resolver(const std::vector<const StoredPackage*>& pkgs) {
  for (const StoredPackage* sp : pkgs) {
    if (sp->package.format != "deb") continue;
    by_name_[sp->package.name].push_back(sp);
    if (sp->package.architecture != "all") archs_.insert(sp->package.architecture);
    const std::string* provides = find_field(sp->package.fields, "Provides");
    if (!provides) continue;
    auto groups = parse_relations(*provides);
    if (!groups.ok()) continue;  // a malformed Provides provides nothing
    for (const RelationGroup& g : *groups) {
      for (const Relation& r : g.alternatives) providers_[r.name].push_back({sp, r});
    }
  }
}

std::vector<std::string> Resolver::contexts(const StoredPackage& sp) const {
  if (sp.package.architecture != "all") return {sp.package.architecture};
  if (archs_.empty()) return {"all"};
  return {archs_.begin(), archs_.end()};
}

const StoredPackage* Resolver::resolve(const Relation& rel, const std::string& ctx) const {
  const StoredPackage* best = nullptr;
  auto consider = [&](const StoredPackage* sp) {
    if (!arch_ok(rel, ctx, sp->package.architecture)) return;
    if (!best || better(*sp, *best, ctx)) best = sp;
  };
  if (auto it = by_name_.find(rel.name); it != by_name_.end()) {
    for (const StoredPackage* sp : it->second) {
      if (version_satisfies(sp->package.version, rel.op, rel.version)) consider(sp);
    }
  }
  if (best) return best;
  if (auto it = providers_.find(rel.name); it != providers_.end()) {
    for (const auto& [sp, provided] : it->second) {
      if (rel.op != VersionOp::kNone &&
          (provided.op != VersionOp::kEqual ||
           !version_satisfies(provided.version, rel.op, rel.version))) {
        continue;
      }
      consider(sp);
    }
  }
  return best;
}

bool Resolver::satisfies(const RelationGroup& g, const std::string& ctx) const {
  for (const Relation& alt : g.alternatives) {
    if (resolve(alt, ctx)) return true;
  }
  return false;
}

Result<std::vector<UnresolvedRelation>> unresolved_relations(
    const std::vector<const StoredPackage*>& pkgs, const Resolver& available,
    const Resolver& contexts_from) {
  std::vector<UnresolvedRelation> out;
  for (const StoredPackage* sp : pkgs) {
    if (sp->package.format != "deb") continue;
    for (const char* f : kDependencyFields) {
      const std::string* value = find_field(sp->package.fields, f);
      if (!value) continue;
      auto groups = parse_relations(*value);
      if (!groups.ok()) {
        return make_error(ErrorCode::kParse,
                          describe(*sp) + " " + f + ": " + groups.error().message);
      }
      for (const RelationGroup& g : *groups) {
        for (const std::string& ctx : contexts_from.contexts(*sp)) {
          if (!available.satisfies(g, ctx)) out.push_back({ref_of(*sp), f, g.to_string(), ctx});
        }
      }
    }
  }
  return out;
}

}  // namespace depot::pool

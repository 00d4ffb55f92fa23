#pragma once
// Which package satisfies a Debian relation, over one set of packages, and which relations of
// some packages no package of a set satisfies. The rules (repo_ops.cc explains them): a
// package named by the relation whose architecture fits and whose version meets the
// constraint, else a provider (a versioned relation only by a versioned Provides meeting it);
// real packages before providers; ":native" as no qualifier, ":any" any architecture.
// Immutable after construction: thread-safe for reads. Holds pointers it does not own.

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "pool/deb_relations.h"
#include "pool/pool_store.h"

namespace depot::pool {

// The relation fields a package needs satisfied before it is installed, in order.
inline constexpr const char* kDependencyFields[] = {"Pre-Depends", "Depends"};

class Resolver {
 public:
  explicit Resolver(const std::vector<const StoredPackage*>& pkgs);

  // Architectures in which a relation of `sp` is resolved: its own, or for an "all" package
  // every architecture of the set ("all" alone when it has no other).
  std::vector<std::string> contexts(const StoredPackage& sp) const;
  // The package satisfying `rel` for architecture `ctx`, or nullptr.
  const StoredPackage* resolve(const Relation& rel, const std::string& ctx) const;
  // True when some alternative of `g` resolves for `ctx`.
  bool satisfies(const RelationGroup& g, const std::string& ctx) const;

 private:
  std::map<std::string, std::vector<const StoredPackage*>> by_name_;
  std::map<std::string, std::vector<std::pair<const StoredPackage*, Relation>>> providers_;
  std::set<std::string> archs_;
};

// The Pre-Depends and Depends entries of the deb packages `pkgs` that `available` does not
// satisfy, each resolved in the architectures contexts_from.contexts() gives, in `pkgs` order.
// A malformed relation field is kParse naming the package.
Result<std::vector<UnresolvedRelation>> unresolved_relations(
    const std::vector<const StoredPackage*>& pkgs, const Resolver& available,
    const Resolver& contexts_from);

// "name version (arch)".
std::string describe(const StoredPackage& sp);

}  // namespace depot::pool

#pragma once
// Debian package relationship fields (Depends, Pre-Depends, Provides): parsing and version
// constraint checks. Thread-safe (no shared state).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace depot::pool {

enum class VersionOp { kNone, kLess, kLessEq, kEqual, kGreaterEq, kGreater };

// One alternative: `name[:arch] [(op version)]`. Architecture restrictions `[...]` and build
// profiles `<...>` are accepted and dropped (they belong to source packages).
struct Relation {
  std::string name;
  std::string arch_qualifier;  // "" | "any" | "native" | an architecture name
  VersionOp op = VersionOp::kNone;
  std::string version;         // set when op != kNone
  std::string to_string() const;
};

// A comma-separated entry: alternatives separated by '|', in order of preference.
struct RelationGroup {
  std::vector<Relation> alternatives;
  std::string to_string() const;
};

// Parses a relationship field value (continuation lines allowed). Empty entries between commas
// are skipped. kParse, quoting the value, on a malformed entry. The obsolete `<` and `>` read as
// `<=` and `>=`, as dpkg does.
Result<std::vector<RelationGroup>> parse_relations(std::string_view value);

// True when `version` satisfies `op constraint` by dpkg ordering; kNone is always satisfied.
bool version_satisfies(std::string_view version, VersionOp op, std::string_view constraint);

}  // namespace depot::pool

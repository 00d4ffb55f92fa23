#pragma once
// Weighted rendezvous hashing (highest random weight): every node gets a score for a path, and
// the path's copies belong on the nodes with the highest scores. A node's weight is its
// capacity, so a node twice as large gets about twice the paths; adding a node to N moves only
// the paths whose top R now include it (about 1/(N+1) of the copies). Scores are stable across
// runs, hosts and builds (a fixed 64-bit hash of node name and path, no std::hash). Pure
// functions, thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace depot::cluster {

struct NodeWeight {
  std::string name;
  double weight = 1;  // > 0; a node with weight <= 0 is never chosen
};

// A stable 64-bit hash of `node` and `path` (the pair, not their concatenation).
uint64_t placement_hash(std::string_view node, std::string_view path);

// The score of `node` for `path`: -weight / ln(u), u the hash mapped into (0, 1). Higher wins.
double placement_score(std::string_view node, double weight, std::string_view path);

// Indexes into `nodes`, best first, of every node with weight > 0 (ties broken by name).
std::vector<size_t> rank_nodes(std::string_view path, const std::vector<NodeWeight>& nodes);

}  // namespace depot::cluster

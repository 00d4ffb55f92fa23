#include "cluster/placement.h"

#include <algorithm>
#include <cmath>

namespace depot::cluster {
namespace {

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;

uint64_t fnv1a(uint64_t h, std::string_view bytes) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= kFnvPrime;
  }
  return h;
}

// The 8 bytes of `n`, least significant first.
uint64_t fnv1a_u64(uint64_t h, uint64_t n) {
  for (int i = 0; i < 8; ++i) {
    h ^= (n >> (8 * i)) & 0xff;
    h *= kFnvPrime;
  }
  return h;
}

// MurmurHash3's 64-bit finalizer: every input bit affects every output bit.
uint64_t fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

}  // namespace

// FNV-1a 64 over (length of node as 8 bytes little-endian, node, path), then fmix64. The
// length prefix makes ("ab", "c") and ("a", "bc") different inputs. Part of the on-disk
// contract: changing it moves data between nodes.
uint64_t placement_hash(std::string_view node, std::string_view path) {
  uint64_t h = fnv1a_u64(kFnvOffset, node.size());
  h = fnv1a(h, node);
  h = fnv1a(h, path);
  return fmix64(h);
}

double placement_score(std::string_view node, double weight, std::string_view path) {
  // The top 53 bits, centred in their interval: u is in (0, 1), never 0 or 1.
  const uint64_t top = placement_hash(node, path) >> 11;
  const double u = (static_cast<double>(top) + 0.5) * 0x1p-53;
  return -weight / std::log(u);
}

std::vector<size_t> rank_nodes(std::string_view path, const std::vector<NodeWeight>& nodes) {
  struct Scored {
    double score;
    size_t index;
  };
  std::vector<Scored> scored;
  scored.reserve(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!(nodes[i].weight > 0)) continue;  // also drops NaN
    scored.push_back({placement_score(nodes[i].name, nodes[i].weight, path), i});
  }
  std::sort(scored.begin(), scored.end(), [&](const Scored& a, const Scored& b) {
    if (a.score != b.score) return a.score > b.score;
    if (nodes[a.index].name != nodes[b.index].name)
      return nodes[a.index].name < nodes[b.index].name;
    return a.index < b.index;
  });
  std::vector<size_t> out;
  out.reserve(scored.size());
  for (const Scored& s : scored) out.push_back(s.index);
  return out;
}

}  // namespace depot::cluster

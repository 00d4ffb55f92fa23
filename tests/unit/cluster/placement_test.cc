#include "cluster/placement.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace depot::cluster {
namespace {

std::vector<NodeWeight> equal_nodes(int n) {
  std::vector<NodeWeight> nodes;
  for (int i = 0; i < n; ++i) nodes.push_back({"node-" + std::to_string(i), 1000});
  return nodes;
}

std::string path_for(int i) {
  return "debian/pool/main/p/pkg" + std::to_string(i) + "_1.0_amd64.deb";
}

// Names of the first `r` ranked nodes, sorted (a set).
std::vector<std::string> top(const std::string& path, const std::vector<NodeWeight>& nodes,
                             size_t r) {
  std::vector<size_t> rank = rank_nodes(path, nodes);
  std::vector<std::string> names;
  for (size_t i = 0; i < r && i < rank.size(); ++i) names.push_back(nodes[rank[i]].name);
  std::sort(names.begin(), names.end());
  return names;
}

// Expected values come from an independent implementation of the documented hash (FNV-1a 64
// over the node's length as 8 bytes little-endian, the node, the path; then fmix64).
TEST(PlacementTest, HashIsFixed) {
  EXPECT_EQ(placement_hash("node-a", "debian/pool/main/h/hello/hello_2.10-3_amd64.deb"),
            0xa15bc03174c6fb22ULL);
  EXPECT_EQ(placement_hash("b", ""), 0x9d10f90e5fb400e6ULL);
  EXPECT_EQ(placement_hash("ab", "c"), 0xafb5dedf7aee8b23ULL);
  EXPECT_EQ(placement_hash("a", "bc"), 0x72577830b6d9ad1dULL);
}

TEST(PlacementTest, ScoreIsPositiveFiniteAndGrowsWithWeight) {
  for (int i = 0; i < 1000; ++i) {
    double s1 = placement_score("n", 1, path_for(i));
    double s2 = placement_score("n", 2, path_for(i));
    ASSERT_TRUE(std::isfinite(s1) && s1 > 0) << path_for(i);
    EXPECT_DOUBLE_EQ(s2, 2 * s1);
  }
}

TEST(PlacementTest, RankIsDeterministicAndComplete) {
  auto nodes = equal_nodes(5);
  auto a = rank_nodes("some/path", nodes);
  auto b = rank_nodes("some/path", nodes);
  EXPECT_EQ(a, b);
  ASSERT_EQ(a.size(), 5u);
  auto sorted = a;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, (std::vector<size_t>{0, 1, 2, 3, 4}));
  // The order of the node list does not matter.
  std::vector<NodeWeight> reversed(nodes.rbegin(), nodes.rend());
  auto c = rank_nodes("some/path", reversed);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(nodes[a[i]].name, reversed[c[i]].name);
}

TEST(PlacementTest, AddingANodeMovesAboutOneSixthOfTheCopies) {
  constexpr int kPaths = 20000;
  constexpr size_t kR = 3;
  auto before = equal_nodes(5);
  auto after = equal_nodes(6);
  const std::string& added = after.back().name;
  size_t moved = 0;
  for (int i = 0; i < kPaths; ++i) {
    auto old_top = top(path_for(i), before, kR);
    auto new_top = top(path_for(i), after, kR);
    bool has_new = std::find(new_top.begin(), new_top.end(), added) != new_top.end();
    size_t lost = 0;
    for (const auto& n : old_top) {
      if (std::find(new_top.begin(), new_top.end(), n) == new_top.end()) ++lost;
    }
    moved += lost;
    if (!has_new) {
      ASSERT_EQ(old_top, new_top) << path_for(i);
    } else {
      ASSERT_EQ(lost, 1u) << path_for(i);
    }
  }
  double fraction = static_cast<double>(moved) / (kPaths * kR);
  EXPECT_NEAR(fraction, 1.0 / 6, 0.02);
}

TEST(PlacementTest, SharesFollowWeights) {
  constexpr int kPaths = 20000;
  std::vector<NodeWeight> nodes = {{"small", 200}, {"medium", 400}, {"large", 800}};
  std::vector<int> wins(nodes.size());
  for (int i = 0; i < kPaths; ++i) ++wins[rank_nodes(path_for(i), nodes).front()];
  const double expected[] = {1.0 / 7, 2.0 / 7, 4.0 / 7};
  for (size_t i = 0; i < nodes.size(); ++i) {
    double share = static_cast<double>(wins[i]) / kPaths;
    EXPECT_NEAR(share / expected[i], 1.0, 0.05) << nodes[i].name << " share " << share;
  }
}

TEST(PlacementTest, NonPositiveWeightIsNeverChosen) {
  std::vector<NodeWeight> nodes = {{"zero", 0},
                                   {"a", 1},
                                   {"negative", -5},
                                   {"nan", std::numeric_limits<double>::quiet_NaN()},
                                   {"b", 1}};
  for (int i = 0; i < 2000; ++i) {
    auto rank = rank_nodes(path_for(i), nodes);
    ASSERT_EQ(rank.size(), 2u);
    for (size_t idx : rank) EXPECT_TRUE(idx == 1 || idx == 4) << idx;
  }
  EXPECT_TRUE(rank_nodes("p", {{"zero", 0}}).empty());
  EXPECT_TRUE(rank_nodes("p", {}).empty());
}

TEST(PlacementTest, TiesAreBrokenByName) {
  // Infinite weights score +inf for every path: a tie.
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<NodeWeight> nodes = {{"zeta", inf}, {"mid", 1}, {"alpha", inf}, {"beta", inf}};
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(rank_nodes(path_for(i), nodes), (std::vector<size_t>{2, 3, 0, 1}));
  }
  // The same name twice scores the same: the earlier index first.
  std::vector<NodeWeight> dup = {{"x", 1}, {"x", 1}};
  EXPECT_EQ(rank_nodes("p", dup), (std::vector<size_t>{0, 1}));
}

}  // namespace
}  // namespace depot::cluster

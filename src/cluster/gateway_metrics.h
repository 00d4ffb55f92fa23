#pragma once
// Counters of `depot cluster serve`, and their rendering in the Prometheus text exposition
// format (0.0.4) at GET /metrics. Every member is a relaxed atomic: safe from any thread.

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace depot::cluster {

struct NodeView;
struct RepairStats;

struct GatewayMetrics {
  using Counter = std::atomic<uint64_t>;
  std::array<Counter, 6> requests_by_class{};  // index 1..5 for 1xx..5xx
  Counter bytes_sent{0};        // body bytes written to clients
  Counter bytes_spliced{0};     // of those, moved from a node's socket by the kernel (splice)
  Counter bytes_received{0};    // upload body bytes read from clients
  Counter read_failovers{0};    // holders replaced during a read
  Counter reads_failed{0};      // reads no holder could complete
  std::array<Counter, 6> puts{};  // by answer: 201, 202, 409, 503, 507, other
  Counter drops{0}, drops_failed{0};
  Counter loops_refused{0};     // 508 answers
  Counter connections_refused{0};
  std::atomic<int64_t> open_connections{0};  // gauge

  void count_put(int status);
};

// Every metric with HELP and TYPE lines, names prefixed "depot_cluster_"; per-node gauges
// (up, used, free, capacity, files) labelled node="NAME".
std::string render_gateway_metrics(const GatewayMetrics& m, const std::vector<NodeView>& nodes,
                                   const RepairStats& repair, uint64_t paths, uint64_t copies);

}  // namespace depot::cluster

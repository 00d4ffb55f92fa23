#include "cluster/gateway_metrics.h"

#include "cluster/gateway.h"

namespace depot::cluster {

namespace {

class Writer {
 public:
  void family(const char* name, const char* type, const char* help) {
    out_ += std::string("# HELP depot_cluster_") + name + " " + help + "\n# TYPE depot_cluster_" +
            name + " " + type + "\n";
  }
  void sample(const char* name, const std::string& labels, uint64_t v) {
    out_ += std::string("depot_cluster_") + name + (labels.empty() ? "" : "{" + labels + "}") +
            " " + std::to_string(v) + "\n";
  }
  void one(const char* name, const char* type, const char* help, uint64_t v) {
    family(name, type, help);
    sample(name, "", v);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

// Node names are [A-Za-z0-9._-]: no escaping needed in a label value.
std::string node_label(const NodeView& v) { return "node=\"" + v.name + "\""; }

void node_gauges(Writer& w, const std::vector<NodeView>& nodes) {
  struct Gauge {
    const char* name;
    const char* help;
    uint64_t (*get)(const NodeView&);
  };
  static const Gauge kGauges[] = {
      {"node_up", "1 when the node answered its last checks", [](const NodeView& v) -> uint64_t { return v.up ? 1 : 0; }},
      {"node_draining", "1 while the node is being drained", [](const NodeView& v) -> uint64_t { return v.draining ? 1 : 0; }},
      {"node_capacity_bytes", "the node's --capacity (0: none)", [](const NodeView& v) { return v.capacity; }},
      {"node_used_bytes", "bytes the node holds", [](const NodeView& v) { return v.used; }},
      {"node_free_bytes", "bytes free on the node's disk", [](const NodeView& v) { return v.free; }},
      {"node_files", "files the node holds", [](const NodeView& v) { return v.files; }},
  };
  for (const Gauge& g : kGauges) {
    w.family(g.name, "gauge", g.help);
    for (const NodeView& v : nodes) {
      if (!v.removed) w.sample(g.name, node_label(v), g.get(v));
    }
  }
}

}  // namespace

void GatewayMetrics::count_put(int status) {
  const int i = status == 201 ? 0 : status == 202 ? 1 : status == 409 ? 2 : status == 503 ? 3
              : status == 507 ? 4 : 5;
  puts[static_cast<size_t>(i)].fetch_add(1, std::memory_order_relaxed);
}

std::string render_gateway_metrics(const GatewayMetrics& m, const std::vector<NodeView>& nodes,
                                   const RepairStats& repair, uint64_t paths, uint64_t copies) {
  Writer w;
  w.family("requests_total", "counter", "requests answered, by status class");
  for (int c = 1; c <= 5; ++c) {
    w.sample("requests_total", "code=\"" + std::to_string(c) + "xx\"", m.requests_by_class[c].load());
  }
  w.one("sent_bytes_total", "counter", "body bytes sent to clients", m.bytes_sent.load());
  w.one("spliced_bytes_total", "counter", "body bytes moved from a node socket to a client by the kernel (splice)",
        m.bytes_spliced.load());
  w.one("received_bytes_total", "counter", "upload bytes read from clients", m.bytes_received.load());
  w.one("read_failovers_total", "counter", "holders replaced in the middle of a read", m.read_failovers.load());
  w.one("reads_failed_total", "counter", "reads no holder could complete", m.reads_failed.load());
  w.family("puts_total", "counter", "uploads, by answer");
  static const char* kPut[] = {"201", "202", "409", "503", "507", "other"};
  for (size_t i = 0; i < 6; ++i) {
    w.sample("puts_total", std::string("code=\"") + kPut[i] + "\"", m.puts[i].load());
  }
  w.one("drops_total", "counter", "DELETEs every node confirmed", m.drops.load());
  w.one("drops_failed_total", "counter", "DELETEs some node failed", m.drops_failed.load());
  w.one("loops_refused_total", "counter", "requests refused 508 (loop or too many gateways)", m.loops_refused.load());
  w.one("connections_refused_total", "counter", "connections closed at --max-connections", m.connections_refused.load());
  w.one("open_connections", "gauge", "client connections open", static_cast<uint64_t>(std::max<int64_t>(0, m.open_connections.load())));
  w.one("paths", "gauge", "paths in the location log", paths);
  w.one("copies", "gauge", "copies in the location log", copies);
  w.one("repair_passes_total", "counter", "repair and rebalance passes", repair.passes);
  w.one("repair_copied_total", "counter", "copies made by passes", repair.copied);
  w.one("repair_copied_bytes_total", "counter", "bytes copied by passes", repair.copied_bytes);
  w.one("repair_trimmed_total", "counter", "extra or stale copies removed", repair.trimmed);
  w.one("repair_failed_total", "counter", "copies or trims that failed", repair.failed);
  w.one("short_paths", "gauge", "paths with fewer than R live copies after the last pass", repair.short_paths);
  w.one("lost_paths", "gauge", "paths with no live copy after the last pass", repair.lost_paths);
  node_gauges(w, nodes);
  return w.take();
}

}  // namespace depot::cluster

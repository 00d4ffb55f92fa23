#pragma once
// Gateway: the cluster logic behind `depot cluster serve` (docs/architecture.md, "Cluster"),
// without HTTP (GatewayServer maps requests onto it). It knows the nodes, checks their health
// and reads their inventories into the LocationLog, places copies by weighted rendezvous
// hashing (weight = capacity) with in-flight reservations, fans uploads out to R nodes at once,
// reads from holders with failover (resuming where a failed holder stopped), and drops from
// every node. Thread-safe: requests run on many threads at once; one health thread per node.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cluster/gateway_metrics.h"
#include "cluster/location_log.h"
#include "cluster/node_client.h"
#include "core/clock.h"
#include "core/logger.h"
#include "core/result.h"

namespace depot::cluster {

struct GatewayOptions {
  std::string name = "gateway";  // in X-Depot-Via, answers and logs
  std::filesystem::path state_dir;
  std::vector<NodeEndpoint> nodes;
  std::string node_token;  // for nodes added later (add_node)
  // Makes the backend of a node URL; null (the default): NodeClient for every URL. A factory
  // returning null for a URL refuses it (add_node fails with kInvalidArgument).
  std::function<std::unique_ptr<NodeBackend>(const NodeEndpoint&, const NodeTimeouts&)>
      backend_factory;
  int copies = 2;  // R
  // A node is checked (status, then its new inventory changes) every check_interval; one that
  // missed down_after checks in a row is down: not read from, not written to.
  std::chrono::milliseconds check_interval{2000};
  int down_after = 3;
  NodeTimeouts timeouts;
  uint64_t fanout_window = 8 << 20;  // bytes of an upload held for the slowest node
  // A node down this long has lost its copies: each path they leave with fewer than R live
  // copies is copied to its next placement node. Within it, its copies still count.
  std::chrono::milliseconds down_grace{60000};
  // Every path is checked this often even when nothing asked for a repair pass (0: never).
  std::chrono::milliseconds repair_interval{600000};
};

// What the repair passes did since the gateway started.
struct RepairStats {
  uint64_t passes = 0;
  uint64_t copied = 0, copied_bytes = 0;  // copies made to restore R
  uint64_t trimmed = 0;                   // extra or stale copies removed after R were confirmed
  uint64_t failed = 0;                    // copies or trims that failed (retried next pass)
  uint64_t short_paths = 0;  // paths left with fewer than R live copies after the last pass
  uint64_t lost_paths = 0;   // paths with no live copy after the last pass
};

// One node as the gateway sees it (status answers, health).
struct NodeView {
  std::string name, url;
  bool up = false;
  int missed = 0;            // checks missed in a row
  std::chrono::steady_clock::time_point down_since{};  // when it was marked down
  // Draining (remove-node): read from, but not placed on, and its copies do not count, so
  // repair moves them to other nodes and then trims them. Removed: no longer in the cluster.
  bool draining = false, removed = false;
  // Its inventory was read through since it was last seen coming up: until then what the log
  // says it holds may be incomplete, and passes wait (they would copy what it already holds).
  bool synced = false;
  std::string last_error;    // of the last missed check
  uint64_t capacity = 0, used = 0, free = 0, inflight = 0, files = 0;
  uint64_t size = 0;         // NodeStatus::size: what placement weighs it by
  uint32_t hops = 0;         // gateways behind it (0: a storage node or a bucket)
  uint64_t reserved = 0;     // bytes this gateway's uploads in progress hold on it
  int64_t cursor = 0;        // inventory read up to
};

// The holders a read may use, best first, and the file they hold.
struct Located {
  std::vector<size_t> nodes;  // indexes into the gateway's node list
  uint64_t size = 0;
  std::string sha256;
};

// What an upload or drop did on each node, for the answer's body.
struct NodeOutcome {
  std::string node;
  int status = 0;       // the node's HTTP status; 0: no answer
  std::string message;  // why it failed; "" when it did not
};

struct PutReport {
  int status = 0;  // 201 (R copies), 202 (fewer), 409 (digest mismatch), 503 (none), 507 (no room)
  std::string message;
  std::vector<NodeOutcome> stored, failed;
};

struct DropReport {
  int status = 0;  // 200 (every node confirmed), 404 (no node had it), 502 (some node failed)
  std::vector<NodeOutcome> removed, failed;
};

class Gateway {
 public:
  Gateway(GatewayOptions options, Logger& logger);
  ~Gateway();

  // Opens the location log and checks every node once (reading its inventory); then starts
  // the health threads. Fails only when the state directory cannot be used.
  Status start();
  void stop();

  const GatewayOptions& options() const { return opts_; }

  // Holders of `path` that are up, best first (fewest hops, then placement score; a storage
  // node before a gateway that would pass the read on), all holding the same
  // content (the most common sha256 among them). Not in the log: the placement nodes are asked
  // (HEAD) in order and what they report is logged. kNotFound when no up node has it.
  // `via` (here and below): the X-Depot-Via to send on, this gateway's name included.
  Result<Located> locate(std::string_view path, std::string_view via = {});

  // Streams bytes [first, end) of `path` into `sink`, from the first holder in `where`; a
  // holder that fails (refused, 404, wrong size, broken mid-body) is skipped and the next one
  // resumes at the byte the last one stopped at. A 404 or a wrong size drops that copy from the
  // log. Fails (naming every holder's error) when no holder could complete it, or when the
  // sink refused bytes (the client left). With `splice`, holders that can may move bytes after
  // their first ones straight to splice->fd (see SpliceOut), bypassing `sink`.
  Status read(std::string_view path, const Located& where, uint64_t first, uint64_t end,
              const BodyWriter& sink, std::string_view via = {}, SpliceOut* splice = nullptr);

  // The URL of an up holder checked within the check interval, for redirect mode.
  std::optional<std::string> redirect_url(std::string_view path, const Located& where);

  // Fans `body` (size bytes, sha256 declared) out to the R placement nodes with room at once.
  // `overwrite`: false refuses (409) a path the cluster already holds.
  // `copies`: how many copies this upload needs (0: R). Copies count on leaf nodes only: a
  // gateway in front of this one asks for one copy per node it chose (X-Depot-Copies: 1), so
  // gateways listing each other still store exactly R leaf copies.
  PutReport put(std::string_view path, uint64_t size, std::string_view sha256,
                const BodyReader& body, bool overwrite, std::string_view via = {},
                size_t copies = 0);

  // Removes `path` from every node (up or not: a down node counts as failed). When some node
  // failed, the path is tombstoned: reads answer 404, no pass restores its copies, and each
  // pass deletes it again until every node confirmed. A later put lifts the tombstone.
  DropReport drop(std::string_view path, std::string_view via = {});

  // Where `path` is: every node of the log with its copy, and its placement order.
  struct Whereabouts {
    std::vector<Copy> copies;
    std::vector<std::string> placement;  // the R nodes it belongs on now
  };
  Result<Whereabouts> whereis(std::string_view path);
  std::vector<NodeView> nodes() const;
  LocationLog& log() { return *log_; }
  GatewayMetrics& metrics() { return metrics_; }
  RepairStats repair_stats() const;

  // What a check of every path found (fsck), or what a pass did.
  struct PassReport {
    uint64_t paths = 0, short_paths = 0, lost_paths = 0, extra_copies = 0, misplaced = 0;
    uint64_t copied = 0, copied_bytes = 0, trimmed = 0, failed = 0;
  };
  enum class PassMode {
    kCheck,      // count only (fsck)
    kRepair,     // restore R counted copies, trim extra and stale ones
    kRebalance,  // also move copies to their placement nodes (rebalance)
  };
  // Runs one pass over every path of the log now, on the calling thread (one pass at a time).
  PassReport run_pass(PassMode mode);
  // Starts a rebalance pass on the repair thread; false when one is already running.
  bool start_rebalance();
  bool rebalancing() const;
  // Forgets the location log and reads every node's inventory again from 0 (fsck --rebuild).
  Status rebuild();

  // Membership, persisted in the state directory (members.json) over the --node list.
  // add_node: a new node, checked at once; kInvalidArgument for a name in use.
  Status add_node(const NodeEndpoint& endpoint);
  // drain_node: stops placing on `name` and moves its copies elsewhere (repair pass).
  Status drain_node(std::string_view name);
  // remove_node: a drained node leaves; kRefused while the log still lists copies on it.
  Status remove_node(std::string_view name);

 private:
  struct NodeState;
  void health_loop(size_t i);
  void check(size_t i);
  // Reads node i's inventory changes after its cursor into the log; `from_scratch` first
  // forgets what the log says it holds and reads from 0.
  Status sync_inventory(size_t i, bool from_scratch = false);
  // The placement of `path` over the nodes that take copies (capacity weights), best first;
  // with `all`, every other node (draining, removed) follows in list order.
  std::vector<size_t> ranked(std::string_view path, bool all = false) const;
  // gateway_membership.cc
  // The backend of `ep` (backend_factory or NodeClient); null when the factory refuses it.
  std::unique_ptr<NodeBackend> make_backend(const NodeEndpoint& ep) const;
  void start_health(size_t i);  // under mu_
  Status load_members();
  Status save_members();  // under mu_
  // Up to R up nodes for a `size`-byte upload, placement order, skipping nodes without room;
  // reserves size on each.
  std::vector<size_t> reserve_targets(std::string_view path, uint64_t size, size_t want,
                                      const std::vector<size_t>& exclude);
  // Ends a reservation; a stored upload counts as used until the next check.
  void release(size_t node, uint64_t size, bool stored);

  // gateway_repair.cc
  void repair_loop();
  void repair_path(const std::string& path, std::vector<Copy> copies, PassMode mode,
                   PassReport& report);
  // Makes copies of `path` (content `copy`) on `targets` from the `live` holders.
  size_t copy_to(const std::string& path, const Copy& copy, const std::vector<size_t>& live,
                 const std::vector<size_t>& targets, PassReport& report);
  // Removes the copies on `extra` once the first R of `live` are confirmed by their nodes.
  void trim(const std::string& path, const Copy& copy, const std::vector<size_t>& live,
            const std::vector<size_t>& extra, PassReport& report);
  // Copies `path` from node `from` to node `to` (streamed through the gateway, never a client).
  Status copy_between(const std::string& path, const Copy& copy, size_t from, size_t to);
  bool tombstoned(std::string_view path) const;
  void set_tombstone(std::string_view path, bool on);
  // Drops every tombstoned path again (the start of a pass).
  void settle_tombstones();
  // Asks the repair thread for a pass soon.
  void want_repair();
  // Whether copies on node i still count: up, or down for less than down_grace.
  bool counts(size_t i) const;
  bool is_up(size_t i) const;
  // The index of node `name`; nodes_.size() when it is not in the cluster.
  size_t index_of(std::string_view name) const;

  GatewayOptions opts_;
  Logger& log_out_;
  std::unique_ptr<LocationLog> log_;
  // Reserved to kMaxNodes at construction, only appended to (under mu_): an index stays valid,
  // and a NodeState never moves. node_count() is the number to iterate over.
  static constexpr size_t kMaxNodes = 1024;
  std::vector<std::unique_ptr<NodeState>> nodes_;
  std::atomic<size_t> node_count_{0};
  size_t node_count() const { return node_count_.load(std::memory_order_acquire); }
  mutable std::mutex mu_;  // guards every NodeState's view
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::vector<std::thread> health_;
  std::thread repairer_;
  bool repair_wanted_ = true;  // guarded by mu_; a pass runs soon
  RepairStats repair_;         // guarded by mu_
  bool rebalance_wanted_ = false, rebalancing_ = false;  // guarded by mu_
  std::mutex pass_mu_;         // one pass at a time
  GatewayMetrics metrics_;
  std::set<std::string, std::less<>> tombstones_;  // guarded by mu_; mirrors the log's
};

}  // namespace depot::cluster

// Gateway's data paths: reads with failover, fan-out uploads, drops (see gateway.h).

#include <algorithm>
#include <mutex>
#include <thread>

#include "cluster/broadcast.h"
#include "cluster/gateway.h"
#include "cluster/gateway_state.h"

namespace depot::cluster {

namespace {

constexpr size_t kBodyChunk = 256 * 1024;

// A put that failed before the node took any byte of the body (no answer at all, or no room):
// another node may take it.
bool replaceable(const NodePutResult& r) {
  // 508: a gateway that the upload already passed (a loop), refused before the body too.
  return !r.stored &&
         (r.failure.status == 0 || r.failure.status == 507 || r.failure.status == 508);
}

}  // namespace

Status Gateway::read(std::string_view path, const Located& where, uint64_t first, uint64_t end,
                     const BodyWriter& sink, std::string_view via, SpliceOut* splice) {
  uint64_t at = first;
  bool sink_refused = false;
  std::string errors;
  for (size_t i : where.nodes) {
    if (at >= end) break;
    if (!is_up(i)) continue;
    NodeState& n = *nodes_[i];
    bool wrong_size = false;
    // To the end of the file: no Range on a whole read (the node then sends it with
    // sendfile), "bytes=AT-" on a resumed one.
    const auto until = end == where.size ? std::nullopt : std::optional<uint64_t>(end);
    auto started = [&](uint64_t file_size, long) { wrong_size = file_size != where.size; };
    auto take = [&](const char* data, size_t len) {
      if (wrong_size) return false;
      if (!sink(data, len)) {
        sink_refused = true;
        return false;
      }
      at += len;
      return true;
    };
    const uint64_t moved_before = splice ? splice->moved : 0;
    auto got = splice ? n.client->get_to(path, at, until, started, take, *splice, via)
                      : n.client->get(path, at, until, started, take, via);
    if (splice) {
      at += splice->moved - moved_before;
      sink_refused = sink_refused || splice->client_left;
    }
    if (sink_refused) {
      return make_error(ErrorCode::kNetwork, std::string(path) + ": the client left");
    }
    if (got.ok() && at >= end) return {};
    const Error e =
        wrong_size ? make_error(ErrorCode::kSizeMismatch,
                                "node " + n.view.name + ": " + std::string(path) +
                                    ": holds a copy of another size than the cluster's")
        : got.ok() ? make_error(ErrorCode::kSizeMismatch, "node " + n.view.name + ": " +
                                                              std::string(path) + ": body ended early")
                   : got.error();
    if (e.code == ErrorCode::kNotFound || e.code == ErrorCode::kSizeMismatch) {
      (void)log_->remove(n.view.name, path);
      want_repair();
    }
    metrics_.read_failovers++;
    log_out_.warn("cluster_read_failover", {{"node", n.view.name},
                                            {"path", std::string(path)},
                                            {"at", at},
                                            {"error", e.message}});
    errors += (errors.empty() ? "" : "; ") + e.message;
  }
  if (at >= end) return {};
  metrics_.reads_failed++;
  return make_error(ErrorCode::kNetwork,
                    std::string(path) + ": no holder could send bytes from " +
                        std::to_string(at) + ": " + (errors.empty() ? "no holder is up" : errors),
                    true);
}

PutReport Gateway::put(std::string_view path, uint64_t size, std::string_view sha256,
                       const BodyReader& body, bool overwrite, std::string_view via,
                       size_t copies) {
  PutReport report;
  auto existing = locate(path, via);
  if (!overwrite && (existing.ok() || existing.error().code == ErrorCode::kUnreachable)) {
    report.status = 409;
    report.message = std::string(path) + " exists; replacing it needs the full role";
    return report;
  }
  const size_t r = static_cast<size_t>(opts_.copies);
  const size_t want = copies == 0 ? r : std::min(copies, r);
  set_tombstone(path, false);  // a new upload brings a dropped path back
  std::vector<size_t> targets = reserve_targets(path, size, want, {});
  if (targets.empty()) {
    bool any_up = false;
    for (size_t i = 0; i < node_count(); ++i) any_up = any_up || is_up(i);
    report.status = any_up ? 507 : 503;
    report.message = any_up ? "no node has room for " + std::to_string(size) + " bytes of " +
                                  std::string(path)
                            : "no node is up to store " + std::string(path);
    return report;
  }

  Broadcast bc(opts_.fanout_window, opts_.fanout_window / 2);
  std::mutex mu;  // guards tried and report's lists
  std::vector<size_t> tried = targets;
  auto upload = [&](size_t node, int reader) {
    for (;;) {
      NodePutResult r = nodes_[node]->client->put(
          path, size, sha256, [&](char* buf, size_t n) { return bc.read(reader, buf, n); }, via);
      bc.leave(reader);
      release(node, size, r.stored.has_value());
      std::lock_guard lock(mu);
      if (r.stored) {
        report.stored.push_back({nodes_[node]->view.name, 201, ""});
        return;
      }
      report.failed.push_back({nodes_[node]->view.name, r.failure.status, r.failure.message});
      if (!replaceable(r)) return;
      // Replaced while byte 0 of the body is still held.
      std::vector<size_t> next = reserve_targets(path, size, 1, tried);
      if (next.empty()) return;
      tried.push_back(next[0]);
      reader = bc.add_reader();
      if (reader < 0) {
        release(next[0], size, false);
        return;
      }
      node = next[0];
    }
  };
  std::vector<std::thread> threads;
  for (size_t t : targets) threads.emplace_back(upload, t, bc.add_reader());

  std::string buf(kBodyChunk, '\0');
  bool client_failed = false;
  for (;;) {
    long n = body(buf.data(), buf.size());
    if (n < 0) {
      client_failed = true;
      bc.abort();
      break;
    }
    if (n == 0) {
      bc.finish();
      break;
    }
    if (!bc.push(buf.data(), static_cast<size_t>(n))) break;  // every node failed
  }
  for (auto& t : threads) t.join();

  for (const NodeOutcome& s : report.stored) (void)log_->add(path, {s.node, size, std::string(sha256)});
  if (!report.stored.empty() && existing.ok()) {
    // Copies of the content this upload replaced, on nodes it did not reach, are stale.
    for (size_t i : existing->nodes) {
      const std::string& name = nodes_[i]->view.name;
      bool fresh = std::any_of(report.stored.begin(), report.stored.end(),
                               [&](const NodeOutcome& s) { return s.node == name; });
      if (!fresh && nodes_[i]->client->remove(path, via).ok()) (void)log_->remove(name, path);
    }
  }
  const bool mismatch = std::any_of(report.failed.begin(), report.failed.end(),
                                    [](const NodeOutcome& f) { return f.status == 409; });
  if (client_failed) {
    report.status = 400;
    report.message = "the body of " + std::string(path) + " broke off";
  } else if (report.stored.size() >= want) {
    report.status = 201;
  } else if (!report.stored.empty()) {
    report.status = 202;
    report.message = "stored " + std::to_string(report.stored.size()) + " of " +
                     std::to_string(want) + " copies of " + std::string(path);
  } else if (std::all_of(report.failed.begin(), report.failed.end(),
                         [](const NodeOutcome& f) { return f.status == 507; })) {
    report.status = 507;
    report.message = "no node had room for " + std::string(path);
  } else if (mismatch) {
    report.status = 409;
    report.message = "the body of " + std::string(path) + " does not match its X-Depot-Sha256";
  } else {
    report.status = 503;
    report.message = "no node stored " + std::string(path);
  }
  if (report.status == 202) want_repair();
  if (report.status != 201) {
    log_out_.warn("cluster_put_degraded", {{"path", std::string(path)},
                                           {"status", report.status},
                                           {"stored", static_cast<uint64_t>(report.stored.size())}});
  }
  return report;
}

DropReport Gateway::drop(std::string_view path, std::string_view via) {
  DropReport report;
  for (size_t i = 0; i < node_count(); ++i) {
    NodeState& n = *nodes_[i];
    {
      std::lock_guard lock(mu_);
      if (n.view.removed) continue;
    }
    if (!is_up(i)) {
      report.failed.push_back({n.view.name, 0, "node " + n.view.name + " is down"});
      continue;
    }
    auto removed = n.client->remove(path, via);
    if (!removed.ok()) {
      report.failed.push_back({n.view.name, 0, removed.error().message});
      continue;
    }
    (void)log_->remove(n.view.name, path);
    if (*removed) report.removed.push_back({n.view.name, 200, ""});
  }
  report.status = !report.failed.empty() ? 502 : report.removed.empty() ? 404 : 200;
  set_tombstone(path, !report.failed.empty());
  (report.failed.empty() ? metrics_.drops : metrics_.drops_failed)++;
  return report;
}

bool Gateway::tombstoned(std::string_view path) const {
  std::lock_guard lock(mu_);
  return tombstones_.find(path) != tombstones_.end();
}

void Gateway::set_tombstone(std::string_view path, bool on) {
  {
    std::lock_guard lock(mu_);
    const bool had = tombstones_.find(path) != tombstones_.end();
    if (had == on) return;
    if (on) {
      tombstones_.emplace(path);
    } else {
      tombstones_.erase(tombstones_.find(path));
    }
  }
  if (Status st = log_->set_tombstone(path, on); !st.ok()) {
    log_out_.warn("cluster_tombstone_failed", {{"path", std::string(path)}, {"error", st.error().message}});
  }
}

void Gateway::settle_tombstones() {
  std::vector<std::string> paths;
  {
    std::lock_guard lock(mu_);
    paths.assign(tombstones_.begin(), tombstones_.end());
  }
  for (const std::string& path : paths) (void)drop(path, opts_.name);
}

}  // namespace depot::cluster

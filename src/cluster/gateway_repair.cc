// Gateway's passes over every path (see gateway.h): a path with fewer than R counted copies is
// copied from a live holder to its next placement nodes; once R copies are confirmed, extra
// and stale copies are removed; a rebalance pass also moves copies onto their placement nodes.

#include <algorithm>
#include <map>
#include <thread>

#include "cluster/broadcast.h"
#include "cluster/gateway.h"
#include "cluster/gateway_state.h"

namespace depot::cluster {

namespace {

constexpr size_t kPassPage = 500;
constexpr uint64_t kCopyWindow = 4 << 20;

// The content most counted copies hold (the path's content); "" when none counts.
template <class Counts>
std::string consensus(const std::vector<Copy>& copies, Counts counts) {
  std::map<std::string, int> votes;
  for (const Copy& c : copies) {
    if (counts(c.node)) votes[c.sha256]++;
  }
  if (votes.empty()) return "";
  return std::max_element(votes.begin(), votes.end(), [](auto& a, auto& b) {
           return a.second < b.second;
         })->first;
}

}  // namespace

bool Gateway::counts(size_t i) const {
  std::lock_guard lock(mu_);
  if (i >= node_count()) return false;  // a node no longer in the cluster
  const NodeView& v = nodes_[i]->view;
  if (v.draining || v.removed) return false;
  return v.up || std::chrono::steady_clock::now() - v.down_since < opts_.down_grace;
}

RepairStats Gateway::repair_stats() const {
  std::lock_guard lock(mu_);
  return repair_;
}

void Gateway::want_repair() {
  {
    std::lock_guard lock(mu_);
    repair_wanted_ = true;
  }
  stop_cv_.notify_all();
}

bool Gateway::start_rebalance() {
  {
    std::lock_guard lock(mu_);
    if (rebalancing_ || rebalance_wanted_) return false;
    rebalance_wanted_ = true;
  }
  stop_cv_.notify_all();
  return true;
}

bool Gateway::rebalancing() const {
  std::lock_guard lock(mu_);
  return rebalancing_ || rebalance_wanted_;
}

void Gateway::repair_loop() {
  std::unique_lock lock(mu_);
  auto last_pass = std::chrono::steady_clock::now();
  std::vector<bool> expired(kMaxNodes, false);
  while (!stopping_) {
    stop_cv_.wait_for(lock, opts_.check_interval,
                      [&] { return stopping_ || repair_wanted_ || rebalance_wanted_; });
    if (stopping_) break;
    const auto now = std::chrono::steady_clock::now();
    for (size_t i = 0; i < node_count(); ++i) {
      const NodeView& v = nodes_[i]->view;
      const bool gone = !v.up && !v.removed && now - v.down_since >= opts_.down_grace;
      if (gone && !expired[i]) {
        log_out_.warn("cluster_node_lost", {{"node", v.name}});
        repair_wanted_ = true;
      }
      expired[i] = gone;
    }
    if (opts_.repair_interval.count() > 0 && now - last_pass >= opts_.repair_interval) {
      repair_wanted_ = true;
    }
    if (!repair_wanted_ && !rebalance_wanted_) continue;
    auto synced = [&] {
      for (size_t i = 0; i < node_count(); ++i) {
        const NodeView& v = nodes_[i]->view;
        if (v.up && !v.removed && !v.synced) return false;
      }
      return true;
    };
    if (!synced()) {
      // Every up node's inventory is read first (a pass would copy what a node already holds).
      stop_cv_.wait_for(lock, opts_.check_interval, [&] { return stopping_ || synced(); });
      continue;
    }
    const PassMode mode = rebalance_wanted_ ? PassMode::kRebalance : PassMode::kRepair;
    rebalancing_ = rebalance_wanted_;
    repair_wanted_ = rebalance_wanted_ = false;
    lock.unlock();
    run_pass(mode);
    lock.lock();
    rebalancing_ = false;
    last_pass = std::chrono::steady_clock::now();
  }
}

Gateway::PassReport Gateway::run_pass(PassMode mode) {
  std::lock_guard pass(pass_mu_);
  PassReport report;
  if (mode != PassMode::kCheck) settle_tombstones();
  std::string after;
  for (;;) {
    auto page = log_->paths(after, kPassPage);
    if (!page.ok()) {
      log_out_.warn("cluster_pass_failed", {{"error", page.error().message}});
      break;
    }
    if (page->empty()) break;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return report;
    }
    for (auto& [path, copies] : *page) repair_path(path, std::move(copies), mode, report);
    after = page->back().first;
  }
  std::lock_guard lock(mu_);
  if (mode == PassMode::kCheck) return report;
  repair_.passes++;
  repair_.copied += report.copied;
  repair_.copied_bytes += report.copied_bytes;
  repair_.trimmed += report.trimmed;
  repair_.failed += report.failed;
  repair_.short_paths = report.short_paths;
  repair_.lost_paths = report.lost_paths;
  log_out_.info("cluster_pass_done", {{"mode", mode == PassMode::kRebalance ? "rebalance" : "repair"},
                                      {"paths", report.paths},
                                      {"copied", report.copied},
                                      {"copied_bytes", report.copied_bytes},
                                      {"trimmed", report.trimmed},
                                      {"failed", report.failed},
                                      {"short", report.short_paths},
                                      {"lost", report.lost_paths}});
  return report;
}

void Gateway::repair_path(const std::string& path, std::vector<Copy> copies, PassMode mode,
                          PassReport& report) {
  if (tombstoned(path)) return;  // deleted: settle_tombstones removes what is left
  report.paths++;
  const std::string sha =
      consensus(copies, [&](const std::string& node) { return counts(index_of(node)); });
  if (sha.empty()) {
    report.lost_paths++;
    return;
  }
  const size_t want = static_cast<size_t>(opts_.copies);
  // Holders in placement order (draining and removed nodes last): `live` are up copies of
  // the content, counting ones first; `counted` those that count toward R.
  std::vector<size_t> live, holders, placed;
  size_t counted = 0;
  uint64_t size = 0;
  for (size_t i : ranked(path, /*all=*/true)) {
    if (placed.size() < want && counts(i) && is_up(i)) placed.push_back(i);
    for (const Copy& c : copies) {
      if (c.node != nodes_[i]->view.name) continue;
      holders.push_back(i);
      if (c.sha256 != sha) continue;
      size = c.size;
      if (counts(i)) counted++;
      if (is_up(i)) live.push_back(i);
    }
  }
  std::stable_partition(live.begin(), live.end(), [&](size_t i) { return counts(i); });
  const Copy copy{"", size, sha};
  if (counted < want) {
    report.short_paths++;
    if (mode == PassMode::kCheck || live.empty()) return;
    std::vector<size_t> targets = reserve_targets(path, size, want - counted, holders);
    const size_t made = copy_to(path, copy, live, targets, report);
    if (counted + made < want) return;
    report.short_paths--;
    // Looked at again with its new copies: what no longer counts (draining) is trimmed now.
    auto fresh = log_->holders(path);
    if (!fresh.ok()) return;
    report.paths--;
    return repair_path(path, std::move(*fresh), PassMode::kRepair, report);
  }
  // On its placement nodes? A rebalance copies it there first; trimming then removes the rest.
  std::vector<size_t> missing;
  for (size_t i : placed) {
    if (std::find(live.begin(), live.end(), i) == live.end()) missing.push_back(i);
  }
  if (!missing.empty()) report.misplaced++;
  if (mode == PassMode::kRebalance && !missing.empty()) {
    std::vector<size_t> targets;
    for (size_t i : missing) {
      std::vector<size_t> others;
      for (size_t k = 0; k < node_count(); ++k) {
        if (k != i) others.push_back(k);
      }
      std::vector<size_t> got = reserve_targets(path, size, 1, others);
      targets.insert(targets.end(), got.begin(), got.end());
    }
    if (copy_to(path, copy, live, targets, report) > 0) {
      auto fresh = log_->holders(path);
      if (!fresh.ok()) return;
      report.paths--;  // the same path, looked at again with its new copies
      return repair_path(path, std::move(*fresh), PassMode::kRepair, report);
    }
  }
  // R or more counted copies: extra live copies (beyond the R best) and stale ones go.
  std::vector<size_t> extra;
  for (const Copy& c : copies) {
    const size_t i = index_of(c.node);
    if (!is_up(i)) continue;
    auto pos = std::find(live.begin(), live.end(), i);
    if (c.sha256 != sha || (pos != live.end() && pos - live.begin() >= static_cast<long>(want))) {
      extra.push_back(i);
    }
  }
  report.extra_copies += extra.size();
  if (mode != PassMode::kCheck && !extra.empty()) trim(path, copy, live, extra, report);
}

size_t Gateway::copy_to(const std::string& path, const Copy& copy, const std::vector<size_t>& live,
                        const std::vector<size_t>& targets, PassReport& report) {
  size_t made = 0;
  for (size_t k = 0; k < targets.size(); ++k) {
    Status st = copy_between(path, copy, live[k % live.size()], targets[k]);
    release(targets[k], copy.size, st.ok());
    if (st.ok()) {
      made++;
      report.copied++;
      report.copied_bytes += copy.size;
    } else {
      report.failed++;
      log_out_.warn("cluster_copy_failed", {{"path", path}, {"error", st.error().message}});
    }
  }
  return made;
}

void Gateway::trim(const std::string& path, const Copy& copy, const std::vector<size_t>& live,
                   const std::vector<size_t>& extra, PassReport& report) {
  const size_t want = static_cast<size_t>(opts_.copies);
  if (live.size() < want) return;
  for (size_t k = 0; k < want; ++k) {
    auto head = nodes_[live[k]]->client->head(path, opts_.name);
    if (!head.ok() || !*head || (*head)->sha256 != copy.sha256 || (*head)->size != copy.size) {
      return;  // not confirmed: nothing is removed this pass
    }
  }
  for (size_t i : extra) {
    auto removed = nodes_[i]->client->remove(path, opts_.name);
    if (removed.ok()) {
      (void)log_->remove(nodes_[i]->view.name, path);
      report.trimmed++;
    } else {
      report.failed++;
      log_out_.warn("cluster_trim_failed", {{"path", path}, {"error", removed.error().message}});
    }
  }
}

Status Gateway::copy_between(const std::string& path, const Copy& copy, size_t from, size_t to) {
  Broadcast bc(kCopyWindow, 0);
  const int reader = bc.add_reader();
  NodePutResult put;
  std::thread uploader([&] {
    put = nodes_[to]->client->put(
        path, copy.size, copy.sha256, [&](char* buf, size_t n) { return bc.read(reader, buf, n); },
        opts_.name);
    bc.leave(reader);
  });
  bool wrong_size = false;
  auto got = nodes_[from]->client->get(
      path, 0, std::nullopt,
      [&](uint64_t file_size, long) { wrong_size = file_size != copy.size; },
      [&](const char* data, size_t n) { return !wrong_size && bc.push(data, n); }, opts_.name);
  if (got.ok() && !wrong_size) {
    bc.finish();
  } else {
    bc.abort();
  }
  uploader.join();
  if (wrong_size) {
    return make_error(ErrorCode::kSizeMismatch, "node " + nodes_[from]->view.name + ": " + path +
                                                    ": holds another size than the cluster's");
  }
  if (!got.ok()) return got.error();
  if (!put.stored) return make_error(ErrorCode::kHttp, put.failure.message);
  log_out_.debug("cluster_copied", {{"path", path},
                                    {"from", nodes_[from]->view.name},
                                    {"to", nodes_[to]->view.name},
                                    {"bytes", copy.size}});
  return log_->add(path, {nodes_[to]->view.name, copy.size, copy.sha256});
}

}  // namespace depot::cluster

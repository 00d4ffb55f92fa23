// Gateway's repair passes (see gateway.h): every path with fewer than R counted copies is copied
// from a live holder to its next placement nodes; once R copies are confirmed, extra and stale
// copies are removed.

#include <algorithm>
#include <map>
#include <thread>

#include "cluster/broadcast.h"
#include "cluster/gateway.h"
#include "cluster/gateway_state.h"

namespace depot::cluster {

namespace {

constexpr size_t kRepairPage = 500;
constexpr uint64_t kCopyWindow = 4 << 20;

}  // namespace

bool Gateway::counts(size_t i) const {
  std::lock_guard lock(mu_);
  if (i >= nodes_.size()) return false;  // a node no longer in the cluster
  const NodeView& v = nodes_[i]->view;
  return v.up || std::chrono::steady_clock::now() - v.down_since < opts_.down_grace;
}

RepairStats Gateway::repair_stats() const {
  std::lock_guard lock(mu_);
  return repair_;
}

void Gateway::repair_now() { repair_pass(); }

void Gateway::want_repair() {
  {
    std::lock_guard lock(mu_);
    repair_wanted_ = true;
  }
  stop_cv_.notify_all();
}

void Gateway::repair_loop() {
  std::unique_lock lock(mu_);
  auto last_pass = std::chrono::steady_clock::now();
  std::vector<bool> expired(nodes_.size(), false);
  while (!stopping_) {
    stop_cv_.wait_for(lock, opts_.check_interval, [&] { return stopping_ || repair_wanted_; });
    if (stopping_) break;
    const auto now = std::chrono::steady_clock::now();
    for (size_t i = 0; i < nodes_.size(); ++i) {
      const NodeView& v = nodes_[i]->view;
      const bool gone = !v.up && now - v.down_since >= opts_.down_grace;
      if (gone && !expired[i]) {
        log_out_.warn("cluster_node_lost", {{"node", v.name}});
        repair_wanted_ = true;
      }
      expired[i] = gone;
    }
    if (opts_.repair_interval.count() > 0 && now - last_pass >= opts_.repair_interval) {
      repair_wanted_ = true;
    }
    if (!repair_wanted_) continue;
    repair_wanted_ = false;
    lock.unlock();
    repair_pass();
    lock.lock();
    last_pass = std::chrono::steady_clock::now();
  }
}

void Gateway::repair_pass() {
  std::lock_guard pass(pass_mu_);
  {
    std::lock_guard lock(mu_);
    repair_.short_paths = repair_.lost_paths = 0;
  }
  std::string after;
  for (;;) {
    auto page = log_->paths(after, kRepairPage);
    if (!page.ok()) {
      log_out_.warn("cluster_repair_failed", {{"error", page.error().message}});
      break;
    }
    if (page->empty()) break;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    for (auto& [path, copies] : *page) repair_path(path, std::move(copies));
    after = page->back().first;
  }
  std::lock_guard lock(mu_);
  repair_.passes++;
  if (repair_.short_paths > 0 || repair_.lost_paths > 0) {
    log_out_.warn("cluster_repair_incomplete", {{"short", repair_.short_paths},
                                                {"lost", repair_.lost_paths}});
  }
}

void Gateway::repair_path(const std::string& path, std::vector<Copy> copies) {
  // The content most counted copies hold is the path's content; others are stale.
  std::map<std::string, int> votes;
  for (const Copy& c : copies) {
    if (counts(index_of(c.node))) votes[c.sha256]++;
  }
  if (votes.empty()) {
    std::lock_guard lock(mu_);
    repair_.lost_paths++;
    return;
  }
  const std::string sha = std::max_element(votes.begin(), votes.end(), [](auto& a, auto& b) {
                            return a.second < b.second;
                          })->first;
  const size_t want = static_cast<size_t>(opts_.copies);
  std::vector<size_t> live, holders;
  size_t counted = 0;
  uint64_t size = 0;
  for (size_t i : ranked(path)) {
    for (const Copy& c : copies) {
      if (c.node != nodes_[i]->view.name) continue;
      holders.push_back(i);
      if (c.sha256 != sha) continue;
      size = c.size;
      if (counts(i)) counted++;
      if (is_up(i)) live.push_back(i);
    }
  }
  const Copy copy{"", size, sha};
  if (counted < want) {
    if (live.empty()) {
      std::lock_guard lock(mu_);
      repair_.short_paths++;
      return;
    }
    std::vector<size_t> targets = reserve_targets(path, size, want - counted, holders);
    size_t made = 0;
    for (size_t k = 0; k < targets.size(); ++k) {
      const size_t from = live[k % live.size()];
      Status st = copy_between(path, copy, from, targets[k]);
      release(targets[k], size, st.ok());
      std::lock_guard lock(mu_);
      if (st.ok()) {
        made++;
        repair_.copied++;
        repair_.copied_bytes += size;
      } else {
        repair_.failed++;
        log_out_.warn("cluster_repair_copy_failed", {{"path", path}, {"error", st.error().message}});
      }
    }
    if (counted + made < want) {
      std::lock_guard lock(mu_);
      repair_.short_paths++;
    }
    return;
  }
  // R or more counted copies. Extra live copies, and stale ones, go once the R best live
  // copies are confirmed by their nodes.
  std::vector<size_t> extra;
  for (const Copy& c : copies) {
    size_t i = index_of(c.node);
    if (!is_up(i)) continue;
    auto pos = std::find(live.begin(), live.end(), i);
    if (c.sha256 != sha || (pos != live.end() && pos - live.begin() >= static_cast<long>(want))) {
      extra.push_back(i);
    }
  }
  if (extra.empty() || live.size() < want) return;
  for (size_t k = 0; k < want; ++k) {
    auto head = nodes_[live[k]]->client.head(path, opts_.name);
    if (!head.ok() || !*head || (*head)->sha256 != sha || (*head)->size != size) return;
  }
  for (size_t i : extra) {
    auto removed = nodes_[i]->client.remove(path, opts_.name);
    std::lock_guard lock(mu_);
    if (removed.ok()) {
      (void)log_->remove(nodes_[i]->view.name, path);
      repair_.trimmed++;
    } else {
      repair_.failed++;
    }
  }
}

Status Gateway::copy_between(const std::string& path, const Copy& copy, size_t from, size_t to) {
  Broadcast bc(kCopyWindow, 0);
  const int reader = bc.add_reader();
  NodeClient::PutResult put;
  std::thread uploader([&] {
    put = nodes_[to]->client.put(
        path, copy.size, copy.sha256, [&](char* buf, size_t n) { return bc.read(reader, buf, n); },
        opts_.name);
    bc.leave(reader);
  });
  bool wrong_size = false;
  auto got = nodes_[from]->client.get(
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
  log_out_.info("cluster_repaired", {{"path", path},
                                     {"from", nodes_[from]->view.name},
                                     {"to", nodes_[to]->view.name},
                                     {"bytes", copy.size}});
  return log_->add(path, {nodes_[to]->view.name, copy.size, copy.sha256});
}

}  // namespace depot::cluster

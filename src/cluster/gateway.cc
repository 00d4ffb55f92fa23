#include "cluster/gateway.h"

#include <algorithm>
#include <map>

#include "cluster/gateway_state.h"
#include "cluster/placement.h"

namespace depot::cluster {

Gateway::Gateway(GatewayOptions options, Logger& logger)
    : opts_(std::move(options)), log_out_(logger) {
  nodes_.reserve(kMaxNodes);
  for (const NodeEndpoint& ep : opts_.nodes) {
    auto backend = make_backend(ep);
    if (!backend) continue;  // refused URLs: the caller checks them before (make_backend)
    nodes_.push_back(std::make_unique<NodeState>(std::move(backend)));
    // A node not reachable at start is in its grace period from now.
    nodes_.back()->view.down_since = std::chrono::steady_clock::now();
  }
  node_count_ = nodes_.size();
}

Gateway::~Gateway() { stop(); }

Status Gateway::start() {
  DEPOT_ASSIGN_OR_RETURN(log_, LocationLog::open(opts_.state_dir));
  DEPOT_TRY(load_members());
  DEPOT_ASSIGN_OR_RETURN(std::vector<std::string> dropped, log_->tombstones());
  tombstones_.insert(dropped.begin(), dropped.end());
  std::vector<std::thread> first;
  for (size_t i = 0; i < node_count(); ++i) first.emplace_back([this, i] { check(i); });
  for (auto& t : first) t.join();
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < node_count(); ++i) start_health(i);
  repairer_ = std::thread([this] { repair_loop(); });
  return {};
}

void Gateway::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  // No thread is added once stopping_ is set (add_node checks it under mu_).
  for (auto& t : health_) t.join();
  health_.clear();
  if (repairer_.joinable()) repairer_.join();
}

void Gateway::health_loop(size_t i) {
  std::unique_lock lock(mu_);
  auto gone = [&] { return stopping_ || nodes_[i]->view.removed; };
  while (!stop_cv_.wait_for(lock, opts_.check_interval, gone)) {
    lock.unlock();
    check(i);
    lock.lock();
  }
}

void Gateway::check(size_t i) {
  NodeState& n = *nodes_[i];
  auto st = n.client->status();
  bool went_down = false, came_up = false;
  {
    std::lock_guard lock(mu_);
    NodeView& v = n.view;
    if (st.ok()) {
      came_up = !v.up;
      if (came_up) {
        repair_wanted_ = true;  // its copies may now be extra
        v.synced = false;
      }
      v.up = true;
      v.missed = 0;
      v.last_error.clear();
      v.capacity = st->capacity;
      v.used = st->used;
      v.free = st->free;
      v.size = st->size;
      v.inflight = st->inflight;
      v.files = st->files;
      v.hops = st->hops;
      n.last_ok = std::chrono::steady_clock::now();
    } else {
      v.missed++;
      v.last_error = st.error().message;
      went_down = v.up && v.missed >= opts_.down_after;
      if (went_down) {
        v.up = false;
        v.down_since = std::chrono::steady_clock::now();
      }
    }
  }
  if (went_down) {
    log_out_.warn("cluster_node_down", {{"node", n.view.name}, {"error", st.error().message}});
  }
  if (!st.ok()) return;
  if (came_up) {
    log_out_.info("cluster_node_up", {{"node", n.view.name}});
    stop_cv_.notify_all();
  }
  if (Status s = sync_inventory(i); !s.ok()) {
    log_out_.warn("cluster_inventory_failed", {{"node", n.view.name}, {"error", s.error().message}});
    return;
  }
  bool first_sync = false;
  {
    std::lock_guard lock(mu_);
    first_sync = !n.view.synced;
    n.view.synced = true;
  }
  if (first_sync) stop_cv_.notify_all();  // a pass may have waited for it
}

Status Gateway::sync_inventory(size_t i, bool from_scratch) {
  NodeState& n = *nodes_[i];
  std::lock_guard sync(n.sync_mu);
  const std::string& name = n.view.name;
  if (from_scratch) DEPOT_TRY(log_->forget(name));
  DEPOT_ASSIGN_OR_RETURN(int64_t cursor, log_->cursor(name));
  for (;;) {
    DEPOT_ASSIGN_OR_RETURN(ChangePage page, n.client->inventory(cursor, 5000));
    if (page.changes.empty() && page.last < cursor) {
      // The node's inventory is younger than what was read: it was recreated (its directory
      // was lost). What the log says it holds is no longer true.
      log_out_.warn("cluster_inventory_recreated",
                    {{"node", name}, {"cursor", cursor}, {"last", page.last}});
      DEPOT_TRY(log_->forget(name));
      cursor = 0;
      continue;
    }
    DEPOT_TRY(log_->apply(name, page.changes, page.last));
    cursor = page.last;
    if (!page.more) break;
  }
  std::lock_guard lock(mu_);
  n.view.cursor = cursor;
  return {};
}

std::vector<size_t> Gateway::ranked(std::string_view path, bool all) const {
  std::vector<NodeWeight> w;
  {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < node_count(); ++i) {
      const NodeView& v = nodes_[i]->view;
      const uint64_t weight = v.capacity > 0 ? v.capacity : v.size > 0 ? v.size : v.used + v.free;
      const bool places = !v.draining && !v.removed;
      w.push_back({v.name, !places ? 0.0 : weight > 0 ? static_cast<double>(weight) : 1.0});
    }
  }
  std::vector<size_t> order = rank_nodes(path, w);
  if (all) {
    for (size_t i = 0; i < w.size(); ++i) {
      if (w[i].weight <= 0) order.push_back(i);
    }
  }
  return order;
}

bool Gateway::is_up(size_t i) const {
  std::lock_guard lock(mu_);
  return i < node_count() && nodes_[i]->view.up && !nodes_[i]->view.removed;
}

size_t Gateway::index_of(std::string_view name) const {
  const size_t n = node_count();
  for (size_t i = 0; i < n; ++i) {
    if (nodes_[i]->view.name == name) return i;
  }
  return n;
}

std::vector<size_t> Gateway::reserve_targets(std::string_view path, uint64_t size, size_t want,
                                             const std::vector<size_t>& exclude) {
  std::vector<size_t> order = ranked(path), chosen;
  std::lock_guard lock(mu_);
  for (size_t i : order) {
    if (chosen.size() >= want) break;
    NodeView& v = nodes_[i]->view;
    if (!v.up || std::find(exclude.begin(), exclude.end(), i) != exclude.end()) continue;
    uint64_t room = v.free;
    if (v.capacity > 0) room = std::min(room, v.capacity > v.used ? v.capacity - v.used : 0);
    const uint64_t held = std::max(v.reserved, v.inflight);
    if (room < held || room - held < size) continue;
    v.reserved += size;
    chosen.push_back(i);
  }
  return chosen;
}

void Gateway::release(size_t node, uint64_t size, bool stored) {
  std::lock_guard lock(mu_);
  NodeView& v = nodes_[node]->view;
  v.reserved -= std::min(v.reserved, size);
  if (stored) v.used += size;  // until the next check reports it
}

Result<Located> Gateway::locate(std::string_view path, std::string_view via) {
  if (tombstoned(path)) {
    return make_error(ErrorCode::kNotFound, std::string(path) + ": deleted from the cluster");
  }
  DEPOT_ASSIGN_OR_RETURN(std::vector<Copy> copies, log_->holders(path));
  const std::vector<size_t> order = ranked(path, /*all=*/true);
  if (copies.empty()) {
    for (size_t i : order) {
      if (!is_up(i)) continue;
      auto head = nodes_[i]->client->head(path, via);
      if (!head.ok() || !*head) continue;
      Copy c{nodes_[i]->view.name, (*head)->size, (*head)->sha256};
      (void)log_->add(path, c);
      copies.push_back(std::move(c));
    }
  }
  if (copies.empty()) return make_error(ErrorCode::kNotFound, std::string(path) + ": not in the cluster");
  std::map<std::string, int> votes;
  for (const Copy& c : copies) {
    if (is_up(index_of(c.node))) votes[c.sha256]++;
  }
  if (votes.empty()) {
    return make_error(ErrorCode::kUnreachable,
                      std::string(path) + ": every node holding it is down", true);
  }
  auto best = std::max_element(votes.begin(), votes.end(),
                               [](const auto& a, const auto& b) { return a.second < b.second; });
  Located where;
  where.sha256 = best->first;
  for (size_t i : order) {
    for (const Copy& c : copies) {
      if (c.node == nodes_[i]->view.name && c.sha256 == where.sha256 && is_up(i)) {
        where.nodes.push_back(i);
        where.size = c.size;
      }
    }
  }
  std::lock_guard lock(mu_);
  std::stable_sort(where.nodes.begin(), where.nodes.end(), [&](size_t a, size_t b) {
    return nodes_[a]->view.hops < nodes_[b]->view.hops;
  });
  return where;
}

std::optional<std::string> Gateway::redirect_url(std::string_view path, const Located& where) {
  const auto fresh = std::chrono::steady_clock::now() - opts_.check_interval;
  std::lock_guard lock(mu_);
  for (size_t i : where.nodes) {
    if (nodes_[i]->view.up && nodes_[i]->last_ok >= fresh) return nodes_[i]->client->file_url(path);
  }
  return std::nullopt;
}

Result<Gateway::Whereabouts> Gateway::whereis(std::string_view path) {
  Whereabouts w;
  DEPOT_ASSIGN_OR_RETURN(w.copies, log_->holders(path));
  std::vector<size_t> order = ranked(path);
  for (size_t k = 0; k < order.size() && k < static_cast<size_t>(opts_.copies); ++k) {
    w.placement.push_back(nodes_[order[k]]->view.name);
  }
  return w;
}

std::vector<NodeView> Gateway::nodes() const {
  std::lock_guard lock(mu_);
  std::vector<NodeView> out;
  for (size_t i = 0; i < node_count(); ++i) out.push_back(nodes_[i]->view);
  return out;
}

}  // namespace depot::cluster

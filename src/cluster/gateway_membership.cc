// Gateway's membership changes (add, drain, remove), kept in <state>/members.json so they
// outlive a restart: {"added":[{"name","url"}],"draining":[names],"removed":[names]}.

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cluster/gateway.h"
#include "cluster/gateway_state.h"
#include "core/file_io.h"

namespace depot::cluster {

namespace {

std::filesystem::path members_file(const GatewayOptions& o) { return o.state_dir / "members.json"; }

}  // namespace

std::unique_ptr<NodeBackend> Gateway::make_backend(const NodeEndpoint& ep) const {
  if (opts_.backend_factory) return opts_.backend_factory(ep, opts_.timeouts);
  return std::make_unique<NodeClient>(ep, opts_.timeouts);
}

void Gateway::start_health(size_t i) {
  health_.emplace_back([this, i] { health_loop(i); });
}

Status Gateway::load_members() {
  const auto file = members_file(opts_);
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return {};
  DEPOT_ASSIGN_OR_RETURN(std::string text, read_whole_file(file, file.string(), 16 << 20));
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return make_error(ErrorCode::kParse, file.string() + ": not a JSON object");
  }
  try {
    for (const auto& n : j.value("added", nlohmann::json::array())) {
      const std::string name = n.at("name").get<std::string>();
      if (index_of(name) < node_count()) continue;  // also given as --node
      auto backend = make_backend({name, n.at("url").get<std::string>(), opts_.node_token});
      if (!backend) return make_error(ErrorCode::kParse, file.string() + ": node " + name + ": bad URL");
      nodes_.push_back(std::make_unique<NodeState>(std::move(backend)));
      nodes_.back()->view.down_since = std::chrono::steady_clock::now();
      node_count_ = nodes_.size();
    }
    for (const char* key : {"draining", "removed"}) {
      for (const auto& n : j.value(key, nlohmann::json::array())) {
        size_t i = index_of(n.get<std::string>());
        if (i >= node_count()) continue;
        (std::string(key) == "draining" ? nodes_[i]->view.draining : nodes_[i]->view.removed) =
            true;
      }
    }
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kParse, file.string() + ": " + e.what());
  }
  return {};
}

Status Gateway::save_members() {
  nlohmann::json added = nlohmann::json::array(), draining = nlohmann::json::array(),
                 removed = nlohmann::json::array();
  for (size_t i = 0; i < node_count(); ++i) {
    const NodeView& v = nodes_[i]->view;
    bool configured = false;
    for (const NodeEndpoint& ep : opts_.nodes) configured = configured || ep.name == v.name;
    if (!configured) added.push_back({{"name", v.name}, {"url", v.url}});
    if (v.draining && !v.removed) draining.push_back(v.name);
    if (v.removed) removed.push_back(v.name);
  }
  const nlohmann::json j{{"added", added}, {"draining", draining}, {"removed", removed}};
  const auto file = members_file(opts_);
  const auto tmp = file.string() + ".tmp";
  DEPOT_TRY(write_whole_file(tmp, j.dump(2) + "\n"));
  if (std::rename(tmp.c_str(), file.c_str()) != 0) {
    return make_error(ErrorCode::kIo, file.string() + ": rename failed");
  }
  return fsync_directory(opts_.state_dir);
}

Status Gateway::add_node(const NodeEndpoint& endpoint) {
  size_t i;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return make_error(ErrorCode::kRefused, "the gateway is stopping");
    if (index_of(endpoint.name) < node_count()) {
      return make_error(ErrorCode::kInvalidArgument, "node " + endpoint.name + " is in the cluster");
    }
    if (node_count() >= kMaxNodes) {
      return make_error(ErrorCode::kRefused, "a cluster has at most 1024 nodes");
    }
    NodeEndpoint ep = endpoint;
    if (ep.token.empty()) ep.token = opts_.node_token;
    auto backend = make_backend(ep);
    if (!backend) {
      return make_error(ErrorCode::kInvalidArgument, "node " + ep.name + ": " + ep.url +
                                                         " is not a node URL this gateway can use");
    }
    nodes_.push_back(std::make_unique<NodeState>(std::move(backend)));
    nodes_.back()->view.down_since = std::chrono::steady_clock::now();
    i = nodes_.size() - 1;
    node_count_.store(nodes_.size(), std::memory_order_release);
    DEPOT_TRY(save_members());
  }
  log_out_.info("cluster_node_added", {{"node", endpoint.name}, {"url", endpoint.url}});
  check(i);
  std::lock_guard lock(mu_);
  if (!stopping_) start_health(i);
  return {};
}

Status Gateway::drain_node(std::string_view name) {
  {
    std::lock_guard lock(mu_);
    const size_t i = index_of(name);
    if (i >= node_count() || nodes_[i]->view.removed) {
      return make_error(ErrorCode::kNotFound, "node " + std::string(name) + " is not in the cluster");
    }
    nodes_[i]->view.draining = true;
    DEPOT_TRY(save_members());
  }
  log_out_.info("cluster_node_draining", {{"node", std::string(name)}});
  want_repair();
  return {};
}

Status Gateway::remove_node(std::string_view name) {
  const size_t i = index_of(name);
  if (i >= node_count()) {
    return make_error(ErrorCode::kNotFound, "node " + std::string(name) + " is not in the cluster");
  }
  DEPOT_ASSIGN_OR_RETURN(auto left, log_->paths_on(name, "", 1));
  {
    std::lock_guard lock(mu_);
    if (!nodes_[i]->view.draining) {
      return make_error(ErrorCode::kRefused, "node " + std::string(name) +
                                                 " must be drained first (remove-node drains it)");
    }
    if (!left.empty()) {
      return make_error(ErrorCode::kRefused, "node " + std::string(name) +
                                                 " still holds copies (first: " + left[0] + ")");
    }
    nodes_[i]->view.removed = true;
    nodes_[i]->view.up = false;
    DEPOT_TRY(save_members());
  }
  stop_cv_.notify_all();  // its health thread ends
  DEPOT_TRY(log_->forget(name));
  log_out_.info("cluster_node_removed", {{"node", std::string(name)}});
  return {};
}

Status Gateway::rebuild() {
  std::lock_guard pass(pass_mu_);
  for (size_t i = 0; i < node_count(); ++i) {
    if (is_up(i)) {
      DEPOT_TRY(sync_inventory(i, /*from_scratch=*/true));
    } else {
      DEPOT_TRY(log_->forget(nodes_[i]->view.name));
    }
  }
  log_out_.info("cluster_log_rebuilt", {});
  return {};
}

}  // namespace depot::cluster

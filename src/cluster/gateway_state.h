#pragma once
// Private to gateway*.cc: one node's client and view.

#include <chrono>
#include <memory>
#include <mutex>

#include "cluster/gateway.h"

namespace depot::cluster {

struct Gateway::NodeState {
  explicit NodeState(std::unique_ptr<NodeBackend> c) : client(std::move(c)) {
    view.name = client->endpoint().name;
    view.url = client->endpoint().url;
  }
  std::unique_ptr<NodeBackend> client;  // immutable
  NodeView view;  // guarded by Gateway::mu_
  std::chrono::steady_clock::time_point last_ok{};  // guarded by Gateway::mu_
  std::mutex sync_mu;  // one inventory read of this node at a time
};

}  // namespace depot::cluster

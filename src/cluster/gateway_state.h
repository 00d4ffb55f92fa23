#pragma once
// Private to gateway*.cc: one node's client and view.

#include <chrono>
#include <mutex>

#include "cluster/gateway.h"

namespace depot::cluster {

struct Gateway::NodeState {
  explicit NodeState(NodeClient c) : client(std::move(c)) {
    view.name = client.endpoint().name;
    view.url = client.endpoint().url;
  }
  NodeClient client;
  NodeView view;  // guarded by Gateway::mu_
  std::chrono::steady_clock::time_point last_ok{};  // guarded by Gateway::mu_
  std::mutex sync_mu;  // one inventory read of this node at a time
};

}  // namespace depot::cluster

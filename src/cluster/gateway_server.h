#pragma once
// GatewayServer: the HTTP/1.1 front of `depot cluster serve`. Clients use it as a plain mirror:
//   GET/HEAD /<path>   answered from a node holding it (proxy: streamed with failover;
//                      redirect: 302 to a node checked healthy), Range and If-None-Match honoured
//   PUT /<path>        fanned out to R nodes (Content-Length and X-Depot-Sha256 required)
//   DELETE /<path>     dropped from every node
// The same under /_depot/v1/files/<path>, with /_depot/v1/status and /_depot/v1/inventory, so
// a gateway can be a node of another gateway, and /_depot/v1/cluster/{status,whereis?path=P,
// list?after=P&limit=N} for `depot cluster` and the cluster mirror target. X-Depot-Via lists the gateways a request passed: one that already
// passed this gateway, or more than 8, is refused with 508.
// Writes need a token (Authorization: Bearer) of the auth table: PUT of a new path `append`,
// PUT over an existing path and DELETE `full`; without a token 401, with too low a role 403;
// without an auth table the gateway is read-only. One thread per connection (blocking sockets
// with send and receive timeouts), at most max_connections at once. Boost stays in the .cc.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "cluster/gateway.h"
#include "core/logger.h"
#include "core/result.h"
#include "serve/auth_file.h"

namespace depot::cluster {

struct GatewayServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  bool redirect = false;  // --mode redirect
  int max_connections = 512;
  // A request header must arrive within this; a client taking no bytes for this long is cut.
  std::chrono::milliseconds io_timeout{60000};
  const AuthTable* auth = nullptr;  // null: read-only
};

class GatewayServer {
 public:
  GatewayServer(GatewayServerOptions options, Gateway& gateway, Logger& logger);
  ~GatewayServer();

  // Binds and listens; returns the bound port.
  Result<uint16_t> listen();
  // Serves until SIGINT/SIGTERM or stop(); blocks; returns once every connection closed.
  void run();
  // Thread-safe.
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace depot::cluster

#pragma once
// One client connection of HttpServer: reads requests (keep-alive, pipelining answered in
// order), answers them through CacheService (sendfile for files, following downloads as they
// grow) or, under /_depot/ on a storage node, through NodeApi (a PUT's body streamed into the
// node store), notices a client that leaves while it waits, and closes connections that idle or
// read too slowly. A session lives on one io_context thread. Boost stays in http_session.cc; the
// io_context is only declared here.

#include "core/logger.h"
#include "serve/access_log.h"
#include "serve/cache_service.h"
#include "serve/http_server.h"
#include "serve/metrics.h"
#include "serve/node_api.h"

namespace boost::asio {
class io_context;
}

namespace depot {

// What every session of one server shares; outlives them.
struct SessionContext {
  const ServerOptions& opts;
  CacheService& service;
  ServeMetrics& metrics;
  AccessLog* access;  // may be null
  NodeApi* node = nullptr;  // the storage node API under /_depot/; null: not a node
  LocalRoutes* routes = nullptr;  // the owner's pages; null: none
};

// Serves the accepted connection `fd` (owned from now on) on `ioc`, whose thread runs it.
void start_http_session(boost::asio::io_context& ioc, int fd, bool ipv6, SessionContext& ctx);

}  // namespace depot

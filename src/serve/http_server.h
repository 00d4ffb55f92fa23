#pragma once
// HttpServer: the event-driven HTTP/1.1 front of `depot serve` (Boost.Beast on Asio). One
// io_context and one thread per configured thread; connections are spread over them round-robin
// and each connection stays on its thread. Keep-alive and pipelining (answered in order), GET and
// HEAD, Range and conditional requests, sendfile for file bodies, /metrics, access log, and on a
// storage node the node API under /_depot/ (NodeApi).
// Boost headers stay inside http_server.cc.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/logger.h"
#include "core/result.h"
#include "serve/access_log.h"
#include "serve/cidr.h"
#include "serve/cache_service.h"
#include "serve/metrics.h"
#include "serve/node_api.h"

namespace depot {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0: any free port
  int threads = 1;
  // A request header must arrive within this, and a keep-alive connection may idle this long.
  std::chrono::milliseconds idle_timeout{60000};
  // A connection sending a response is closed when its client took no byte for send_timeout,
  // or fewer than min_send_rate bytes per second over a window of send_timeout.
  std::chrono::milliseconds send_timeout{60000};
  uint64_t min_send_rate = 256;
  // Connections beyond this are closed as soon as they are accepted. 0: derived from the
  // descriptor limit (RLIMIT_NOFILE).
  int max_connections = 0;
  // Networks whose clients may POST usage reports (/_depot/v1/usage); empty: none.
  std::vector<Cidr> usage_from;
};

// Pages the server's owner adds (`depot run`'s status JSON and page under /_depot/), answered
// for GET and HEAD before the served tree. Implementations must be thread-safe.
class LocalRoutes {
 public:
  struct Page {
    std::string content_type;
    std::string body;
    std::string redirect;  // set: a 301 to this location instead of a body
    std::vector<std::pair<std::string, std::string>> fields;  // further header fields
  };
  virtual ~LocalRoutes() = default;
  // The page at the raw request target `target`; nullopt when it is not one of these routes.
  virtual std::optional<Page> page(std::string_view target) = 0;
  // Series appended to /metrics (Prometheus text, with their HELP and TYPE lines).
  virtual std::string metrics() = 0;
};

class HttpServer {
 public:
  // `access_log`, `node` (the storage node API) and `routes` may be null. Everything passed
  // must outlive the server.
  HttpServer(const ServerOptions& options, CacheService& service, ServeMetrics& metrics,
             AccessLog* access_log, Logger& logger, NodeApi* node = nullptr,
             LocalRoutes* routes = nullptr);
  ~HttpServer();

  // Binds and listens; returns the bound port.
  Result<uint16_t> listen();
  // Serves until SIGINT/SIGTERM or stop(); blocks.
  void run();
  // Thread-safe.
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace depot

#include "serve/http_server.h"

#include <sys/resource.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <csignal>
#include <thread>
#include <vector>

#include "serve/http_session.h"

namespace depot {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

// Half the descriptor limit, less a reserve: a connection may hold its socket and a file, and
// downloads, the cache database and logs need their own.
int64_t default_max_connections() {
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 100000;
  return std::max<int64_t>(16, (static_cast<int64_t>(rl.rlim_cur) - 256) / 2);
}

}  // namespace

struct HttpServer::Impl {
  Impl(const ServerOptions& o, CacheService& s, ServeMetrics& m, AccessLog* a, Logger& l,
       NodeApi* node, LocalRoutes* routes)
      : opts(o), service(s), metrics(m), log(l), sessions{opts, s, m, a, node, routes} {}

  void accept();
  void schedule_tick();

  ServerOptions opts;
  CacheService& service;
  ServeMetrics& metrics;
  Logger& log;
  SessionContext sessions;
  std::vector<std::unique_ptr<asio::io_context>> iocs;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<asio::signal_set> signals;
  std::unique_ptr<asio::steady_timer> ticker;
  std::unique_ptr<asio::steady_timer> accept_pause;
  size_t next = 0;
  int64_t max_connections = 0;
  uint64_t accept_failures = 0;
};

void HttpServer::Impl::accept() {
  asio::io_context& target = *iocs[next++ % iocs.size()];
  acceptor->async_accept(target, [this, &target](beast::error_code ec, tcp::socket sock) {
    if (ec == asio::error::operation_aborted) return;
    if (ec) {
      // Out of descriptors or memory: pause instead of spinning; never fatal.
      if (accept_failures++ % 100 == 0) {
        log.warn("accept_failed", {{"error", ec.message()}, {"failures", accept_failures}});
      }
      accept_pause->expires_after(std::chrono::milliseconds(100));
      accept_pause->async_wait([this](beast::error_code wec) {
        if (!wec) accept();
      });
      return;
    }
    if (metrics.open_connections.load(std::memory_order_relaxed) >= max_connections) {
      metrics.connections_refused++;
      beast::error_code ignored;
      sock.close(ignored);
    } else {
      try {
        bool v6 = sock.local_endpoint(ec).address().is_v6();
        int fd = sock.release(ec);
        if (!ec) start_http_session(target, fd, v6, sessions);
      } catch (const std::exception& e) {  // e.g. bad_alloc: drop this connection, keep serving
        log.warn("session_failed", {{"error", e.what()}});
      }
    }
    accept();
  });
}

void HttpServer::Impl::schedule_tick() {
  ticker->expires_after(std::chrono::seconds(1));
  ticker->async_wait([this](beast::error_code ec) {
    if (ec) return;
    service.tick();
    schedule_tick();
  });
}

HttpServer::HttpServer(const ServerOptions& options, CacheService& service,
                       ServeMetrics& metrics, AccessLog* access_log, Logger& logger,
                       NodeApi* node, LocalRoutes* routes)
    : impl_(std::make_unique<Impl>(options, service, metrics, access_log, logger, node, routes)) {
  int n = std::max(1, options.threads);
  for (int i = 0; i < n; ++i) impl_->iocs.push_back(std::make_unique<asio::io_context>(1));
}

HttpServer::~HttpServer() = default;

Result<uint16_t> HttpServer::listen() {
  Impl& s = *impl_;
  beast::error_code ec;
  auto addr = asio::ip::make_address(s.opts.host, ec);
  if (ec) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--listen: not an IP address: " + s.opts.host);
  }
  tcp::endpoint ep(addr, s.opts.port);
  s.acceptor = std::make_unique<tcp::acceptor>(*s.iocs[0]);
  std::string where = s.opts.host + ":" + std::to_string(s.opts.port);
  if (s.acceptor->open(ep.protocol(), ec); ec) {
    return make_error(ErrorCode::kIo, where + ": " + ec.message());
  }
  s.acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (s.acceptor->bind(ep, ec); ec) return make_error(ErrorCode::kIo, where + ": " + ec.message());
  if (s.acceptor->listen(asio::socket_base::max_listen_connections, ec); ec) {
    return make_error(ErrorCode::kIo, where + ": " + ec.message());
  }
  return s.acceptor->local_endpoint().port();
}

void HttpServer::run() {
  Impl& s = *impl_;
  s.signals = std::make_unique<asio::signal_set>(*s.iocs[0], SIGINT, SIGTERM);
  s.signals->async_wait([this](beast::error_code ec, int sig) {
    if (ec) return;
    impl_->log.info("serve_stopping", {{"signal", sig}});
    stop();
  });
  s.ticker = std::make_unique<asio::steady_timer>(*s.iocs[0]);
  s.accept_pause = std::make_unique<asio::steady_timer>(*s.iocs[0]);
  s.max_connections = s.opts.max_connections > 0 ? s.opts.max_connections : default_max_connections();
  s.schedule_tick();
  s.accept();
  std::vector<std::thread> threads;
  for (size_t i = 1; i < s.iocs.size(); ++i) {
    auto guard = std::make_shared<asio::executor_work_guard<asio::io_context::executor_type>>(
        s.iocs[i]->get_executor());
    threads.emplace_back([ioc = s.iocs[i].get(), guard] { ioc->run(); });
  }
  s.iocs[0]->run();
  for (auto& ioc : s.iocs) ioc->stop();
  for (auto& t : threads) t.join();
}

void HttpServer::stop() {
  for (auto& ioc : impl_->iocs) ioc->stop();
}

}  // namespace depot

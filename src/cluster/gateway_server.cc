#include "cluster/gateway_server.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <condition_variable>
#include <csignal>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

// Asio 1.74 needs <utility> before it (std::exchange).
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "cluster/gateway_exchange.h"

namespace depot::cluster {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct GatewayServer::Impl {
  Impl(GatewayServerOptions o, Gateway& g, Logger& l) : opts(std::move(o)), gw(g), log(l) {}

  GatewayServerOptions opts;
  Gateway& gw;
  Logger& log;
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::mutex mu;
  std::condition_variable idle;
  std::set<int> open_fds;  // connections being served, shut down by stop()
  int live = 0;            // connection threads not yet finished
  bool stopping = false;

  // Serves one connection, then closes it.
  void serve(std::unique_ptr<tcp::socket> sock);
  void accept_loop();
  void shut_everything();
};

namespace {

void set_timeouts(int fd, std::chrono::milliseconds t) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(t.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((t.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

}  // namespace

GatewayServer::GatewayServer(GatewayServerOptions options, Gateway& gateway, Logger& logger)
    : impl_(std::make_unique<Impl>(std::move(options), gateway, logger)) {}

GatewayServer::~GatewayServer() { stop(); }

Result<uint16_t> GatewayServer::listen() {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(impl_->opts.host, ec);
  if (ec) {
    return make_error(ErrorCode::kInvalidArgument,
                      "cannot listen on " + impl_->opts.host + ": not an IP address");
  }
  tcp::endpoint ep(addr, impl_->opts.port);
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return make_error(ErrorCode::kIo, "cannot listen on " + impl_->opts.host + ":" +
                                          std::to_string(impl_->opts.port) + ": " + ec.message());
  }
  return a.local_endpoint().port();
}

void GatewayServer::Impl::serve(std::unique_ptr<tcp::socket> sock) {
  const int fd = sock->native_handle();
  set_timeouts(fd, opts.io_timeout);
  // Every answer is written whole or in large pieces: without Nagle its last small segment
  // goes out at once instead of waiting for the client's (delayed) ACK of the previous ones.
  boost::system::error_code nodelay_ec;
  sock->set_option(tcp::no_delay(true), nodelay_ec);
  gw.metrics().open_connections++;
  {
    Exchange ex(*sock, gw, opts, log);
    ex.run();
  }
  gw.metrics().open_connections--;
  boost::system::error_code ec;
  sock->shutdown(tcp::socket::shutdown_both, ec);
  {
    std::lock_guard lock(mu);
    open_fds.erase(fd);  // before close: its number may be reused at once
  }
  sock.reset();  // the socket uses ioc: gone before run() may return
  std::lock_guard lock(mu);
  live--;
  idle.notify_all();
}

void GatewayServer::Impl::accept_loop() {
  for (;;) {
    boost::system::error_code ec;
    auto sock = std::make_unique<tcp::socket>(ioc);
    acceptor.accept(*sock, ec);
    std::unique_lock lock(mu);
    if (stopping) return;
    if (ec) continue;
    if (live >= opts.max_connections) {
      gw.metrics().connections_refused++;
      log.warn("cluster_connection_refused", {{"reason", "max_connections"}});
      sock->close(ec);
      continue;
    }
    open_fds.insert(sock->native_handle());
    live++;
    lock.unlock();
    std::thread([this, s = std::move(sock)]() mutable { serve(std::move(s)); }).detach();
  }
}

void GatewayServer::Impl::shut_everything() {
  std::unique_lock lock(mu);
  if (stopping) return;
  stopping = true;
  ::shutdown(acceptor.native_handle(), SHUT_RDWR);
  for (int fd : open_fds) ::shutdown(fd, SHUT_RDWR);
}

void GatewayServer::run() {
  asio::io_context sig_ioc;
  asio::signal_set signals(sig_ioc, SIGINT, SIGTERM);
  signals.async_wait([this](const boost::system::error_code& ec, int) {
    if (!ec) stop();
  });
  std::thread sig_thread([&] { sig_ioc.run(); });
  impl_->accept_loop();
  sig_ioc.stop();
  sig_thread.join();
  std::unique_lock lock(impl_->mu);
  impl_->idle.wait(lock, [&] { return impl_->live == 0; });
}

void GatewayServer::stop() {
  if (impl_) impl_->shut_everything();
}

}  // namespace depot::cluster

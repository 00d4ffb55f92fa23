#include "pool/control_api.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <list>
#include <mutex>
#include <thread>

#include "pool/control_socket.h"

namespace depot::pool {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using local = asio::local::stream_protocol;

constexpr uint64_t kMaxBody = 16ull << 20;

}  // namespace

struct ControlServer::Impl {
  Impl(std::filesystem::path p, ControlHandler h, Logger& l)
      : path(std::move(p)), handler(std::move(h)), log(l), acceptor(ioc) {}

  void serve(local::socket sock);

  std::filesystem::path path;
  dev_t dev = 0;  // the socket file this server created
  ino_t ino = 0;
  ControlHandler handler;
  Logger& log;
  asio::io_context ioc;
  local::acceptor acceptor;
  std::atomic<bool> stopping{false};
  struct Conn {
    std::thread thread;
    std::atomic<bool> done{false};
  };
  std::mutex mu;
  std::list<std::unique_ptr<Conn>> conns;  // finished ones are joined at the next accept
  std::list<local::socket*> open;          // connections in progress, shut down by stop()
  void reap(bool all);
};

void ControlServer::Impl::reap(bool all) {
  std::list<std::unique_ptr<Conn>> finished;
  {
    std::lock_guard lock(mu);
    for (auto it = conns.begin(); it != conns.end();) {
      if (all || (*it)->done) {
        finished.push_back(std::move(*it));
        it = conns.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& c : finished) c->thread.join();
}

ControlServer::ControlServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ControlServer::~ControlServer() {
  stop();
  impl_->reap(/*all=*/true);
  if (is_same_file(impl_->path, impl_->dev, impl_->ino)) ::unlink(impl_->path.c_str());
}

Result<std::unique_ptr<ControlServer>> ControlServer::listen(const std::filesystem::path& socket,
                                                             ControlHandler handler,
                                                             Logger& logger) {
  std::error_code fec;
  auto status = std::filesystem::symlink_status(socket, fec);
  if (!fec && std::filesystem::exists(status)) {
    if (status.type() != std::filesystem::file_type::socket) {
      return make_error(ErrorCode::kRefused,
                        socket.string() + " exists and is not a socket; not replacing it");
    }
    auto probe = control_call(socket, "GET", "/status", "", std::chrono::milliseconds(2000));
    if (probe.ok()) {
      return make_error(ErrorCode::kRefused,
                        socket.string() + ": another daemon is running on this socket");
    }
    std::filesystem::remove(socket, fec);  // left by a daemon that died
  }
  DEPOT_ASSIGN_OR_RETURN(ListeningSocket ls, listen_unix_in_place(socket, 0660));
  std::unique_ptr<Impl> impl = std::make_unique<Impl>(socket, std::move(handler), logger);
  impl->dev = ls.dev;
  impl->ino = ls.ino;
  beast::error_code ec;
  impl->acceptor.assign(local(), ls.fd.get(), ec);
  if (ec) {
    if (is_same_file(socket, ls.dev, ls.ino)) ::unlink(socket.c_str());
    return make_error(ErrorCode::kIo, socket.string() + ": " + ec.message());
  }
  ls.fd.release();
  return std::unique_ptr<ControlServer>(new ControlServer(std::move(impl)));
}

void ControlServer::Impl::serve(local::socket sock) {
  {
    std::lock_guard lock(mu);
    open.push_back(&sock);
  }
  beast::flat_buffer buf;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(kMaxBody);
    beast::error_code ec;
    http::read(sock, buf, parser, ec);
    if (ec) {
      if (ec == http::error::body_limit) {
        http::response<http::string_body> res{http::status::payload_too_large, 11};
        res.body() = R"({"error":"request body too large"})";
        res.prepare_payload();
        http::write(sock, res, ec);
      }
      break;
    }
    const auto& req = parser.get();
    ControlRequest cr{std::string(req.method_string()), std::string(req.target()), req.body()};
    ControlResponse out;
    try {
      out = handler(cr);
    } catch (const std::exception& e) {
      out.status = 500;
      out.body = std::string(R"({"error":"internal error"})");
      log.error("control_handler_threw", {{"target", cr.target}, {"error", e.what()}});
    }
    http::response<http::string_body> res{static_cast<http::status>(out.status), req.version()};
    res.set(http::field::content_type, "application/json");
    res.set(http::field::server, "depot-daemon");
    res.keep_alive(req.keep_alive());
    res.body() = std::move(out.body);
    res.prepare_payload();
    http::write(sock, res, ec);
    if (ec || !req.keep_alive() || stopping) break;
  }
  beast::error_code ec;
  sock.shutdown(local::socket::shutdown_both, ec);
  std::lock_guard lock(mu);
  open.remove(&sock);
}

void ControlServer::run() {
  Impl& s = *impl_;
  while (!s.stopping) {
    local::socket sock(s.ioc);
    beast::error_code ec;
    s.acceptor.accept(sock, ec);
    if (ec) {
      if (s.stopping) break;
      s.log.warn("control_accept_failed", {{"error", ec.message()}});
      continue;
    }
    s.reap(/*all=*/false);
    auto conn = std::make_unique<Impl::Conn>();
    Impl::Conn* c = conn.get();
    std::lock_guard lock(s.mu);
    s.conns.push_back(std::move(conn));
    c->thread = std::thread([&s, c, sock = std::move(sock)]() mutable {
      s.serve(std::move(sock));
      c->done = true;
    });
  }
}

void ControlServer::stop() {
  Impl& s = *impl_;
  if (s.stopping.exchange(true)) return;
  // Wakes a blocked accept(): shutting the listening socket down makes accept fail.
  ::shutdown(s.acceptor.native_handle(), SHUT_RDWR);
  std::lock_guard lock(s.mu);
  for (local::socket* sock : s.open) ::shutdown(sock->native_handle(), SHUT_RD);
}

Result<ControlResponse> control_call(const std::filesystem::path& socket, std::string_view method,
                                     std::string_view target, std::string_view body,
                                     std::chrono::milliseconds timeout) {
  asio::io_context ioc;
  local::socket stream(ioc);
  beast::error_code ec;
  stream.connect(local::endpoint(socket.string()), ec);
  if (ec) {
    return make_error(ErrorCode::kNetwork, socket.string() + ": " + ec.message() +
                                               " (is the daemon running? see --socket or "
                                               "DEPOT_SOCKET)");
  }
  // Synchronous calls honour socket timeouts, not Asio deadlines.
  struct timeval tv {};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(stream.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(stream.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  http::request<http::string_body> req{
      http::string_to_verb(beast::string_view(method.data(), method.size())), std::string(target), 11};
  req.set(http::field::host, "depot");
  req.set(http::field::content_type, "application/json");
  req.body() = std::string(body);
  req.prepare_payload();
  http::write(stream, req, ec);
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxBody);
  if (!ec) http::read(stream, buf, parser, ec);
  if (ec) {
    return make_error(ErrorCode::kNetwork, socket.string() + ": " + ec.message(),
                      /*transient=*/true);
  }
  ControlResponse out;
  out.status = static_cast<int>(parser.get().result_int());
  out.body = parser.get().body();
  return out;
}

}  // namespace depot::pool

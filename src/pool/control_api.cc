#include "pool/control_api.h"

#include <malloc.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <deque>
#include <list>
#include <map>
#include <optional>

#include "core/text.h"
#include "pool/control_socket.h"

namespace depot::pool {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using local = asio::local::stream_protocol;
using SteadyClock = std::chrono::steady_clock;

constexpr uint32_t kHeaderLimit = 16 * 1024;
constexpr auto kAcceptPause = std::chrono::milliseconds(100);
constexpr auto kStopGrace = std::chrono::seconds(2);
constexpr auto kCapLogInterval = std::chrono::seconds(10);
constexpr uint64_t kTrimAfter = 1 << 20;     // a body this large is followed by malloc_trim
constexpr uint64_t kMaxAnswer = 1ull << 30;  // control_call's limit on an answer's body

constexpr const char* kStoppingBody =
    R"({"error":"the daemon is stopping; depot jobs shows the state of a submitted job"})";

bool is_http_error(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::end_of_stream).category() &&
         ec != http::error::end_of_stream;
}

std::string error_json(std::string_view message) {
  return std::string(R"({"error":")") + std::string(message) + "\"}";  // message has no quotes
}

class Conn;

}  // namespace

struct ControlServer::Impl : std::enable_shared_from_this<ControlServer::Impl> {
  Impl(std::filesystem::path p, ControlHandler h, Logger& l, const ControlServerOptions& o)
      : path(std::move(p)), handler(std::move(h)), log(l), opts(o), pool(o.handler_threads) {}

  // Event-loop thread only, except where noted.
  void accept();
  void on_accept(boost::system::error_code ec, local::socket sock);
  void accept_later();
  void admit(local::socket sock);
  void refuse_busy(local::socket& sock);
  void note_cap(bool closed_idle);
  void reserve(const std::shared_ptr<Conn>& c, uint64_t bytes);
  void release(uint64_t bytes);
  void forget(uint64_t id);
  void dispatch(uint64_t id, ControlRequest req, uint64_t reserved);
  void deliver(uint64_t id, ControlResponse r);
  void shut_down();
  void run_handler(const ControlRequest& req, const ControlReply& reply);  // pool threads
  // Gives free heap pages back to the system (malloc_trim) on a pool thread.
  void trim_later();

  asio::io_context ioc{1};  // first member: destroyed last
  std::filesystem::path path;
  dev_t dev = 0;
  ino_t ino = 0;
  ControlHandler handler;
  Logger& log;
  const ControlServerOptions opts;
  local::acceptor acceptor{ioc};
  asio::steady_timer accept_pause{ioc};
  asio::steady_timer stop_timer{ioc};
  std::map<uint64_t, std::shared_ptr<Conn>> conns;
  std::list<Conn*> waiting;  // connections waiting for a request, longest waiting first
  uint64_t next_id = 1;
  uint64_t budget_used = 0;
  std::deque<std::pair<std::weak_ptr<Conn>, uint64_t>> budget_queue;
  bool accepting = false;  // an accept or its retry timer is pending
  bool closing = false;    // shut_down() ran
  uint64_t closed_idle = 0, refused = 0;
  SteadyClock::time_point cap_logged{};
  std::atomic<bool> stop_requested{false};
  asio::thread_pool pool;  // last member: joined first
};

namespace {

// One connection; lives on the event-loop thread. Owned by Impl::conns while open and by the
// handlers of its pending operations.
class Conn : public std::enable_shared_from_this<Conn> {
 public:
  enum class State { kWaiting, kBudget, kBody, kHandling, kWriting, kClosed };

  Conn(ControlServer::Impl& srv, uint64_t id, local::socket sock)
      : srv_(srv), id_(id), sock_(std::move(sock)), timer_(srv.ioc) {}

  uint64_t id() const { return id_; }
  State state() const { return state_; }

  void start() { read_header(); }
  // The body budget admits this request's body.
  void granted(uint64_t bytes);
  // The handler's answer.
  void answer(ControlResponse r);
  // The server stops: see ControlServer::stop().
  void stop();
  void close();

 private:
  void arm();
  void disarm();
  void set_waiting(bool on);
  void read_header();
  void on_header(beast::error_code ec);
  void read_body();
  void on_body(beast::error_code ec);
  void dispatch();
  void refuse(int status, std::string_view message) {
    write(status, error_json(message), /*keep_alive=*/false);
  }
  void write(int status, std::string body, bool keep_alive);

  ControlServer::Impl& srv_;
  const uint64_t id_;
  local::socket sock_;
  asio::steady_timer timer_;
  uint64_t timer_gen_ = 0;
  beast::flat_buffer buf_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::unique_ptr<http::response<http::string_body>> res_;
  State state_ = State::kWaiting;
  std::optional<std::list<Conn*>::iterator> waiting_pos_;
  uint64_t reserved_ = 0;  // body budget held
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool expect_continue_ = false;
};

// The deadline for the client: idle_timeout from now. A newer arm() or disarm() voids it.
void Conn::arm() {
  const uint64_t gen = ++timer_gen_;
  timer_.expires_after(srv_.opts.idle_timeout);
  timer_.async_wait([self = shared_from_this(), gen](beast::error_code ec) {
    if (!ec && gen == self->timer_gen_) self->close();
  });
}

void Conn::disarm() {
  ++timer_gen_;
  timer_.cancel();
}

void Conn::set_waiting(bool on) {
  if (on && !waiting_pos_) {
    waiting_pos_ = srv_.waiting.insert(srv_.waiting.end(), this);
  } else if (!on && waiting_pos_) {
    srv_.waiting.erase(*waiting_pos_);
    waiting_pos_.reset();
  }
}

void Conn::read_header() {
  state_ = State::kWaiting;
  set_waiting(true);
  parser_.emplace();
  parser_->header_limit(kHeaderLimit);
  parser_->body_limit(srv_.opts.max_body);
  arm();
  http::async_read_header(
      sock_, buf_, *parser_,
      [self = shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
}

void Conn::on_header(beast::error_code ec) {
  if (state_ != State::kWaiting) return;
  set_waiting(false);
  if (ec == http::error::body_limit) return refuse(413, "request body too large");
  if (ec == http::error::header_limit) return refuse(431, "request header too large");
  if (is_http_error(ec)) return refuse(400, "malformed request");
  if (ec) return close();
  const auto& req = parser_->get();
  version_ = req.version();
  keep_alive_ = req.keep_alive();
  if (parser_->is_done()) return dispatch();
  const beast::string_view expect = req[http::field::expect];
  expect_continue_ = iequals(std::string_view(expect.data(), expect.size()), "100-continue");
  disarm();
  state_ = State::kBudget;
  srv_.reserve(shared_from_this(), parser_->content_length().value_or(srv_.opts.max_body));
}

void Conn::granted(uint64_t bytes) {
  reserved_ = bytes;
  state_ = State::kBody;
  arm();
  if (!expect_continue_) return read_body();
  static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  asio::async_write(sock_, asio::buffer(kContinue.data(), kContinue.size()),
                    [self = shared_from_this()](beast::error_code ec, size_t) {
                      if (self->state_ != State::kBody) return;
                      if (ec) return self->close();
                      self->read_body();
                    });
}

void Conn::read_body() {
  http::async_read(
      sock_, buf_, *parser_,
      [self = shared_from_this()](beast::error_code ec, size_t) { self->on_body(ec); });
}

void Conn::on_body(beast::error_code ec) {
  if (state_ != State::kBody) return;
  if (ec == http::error::body_limit) return refuse(413, "request body too large");
  if (is_http_error(ec)) return refuse(400, "malformed request");
  if (ec) return close();
  dispatch();
}

void Conn::dispatch() {
  disarm();
  state_ = State::kHandling;
  auto& req = parser_->get();
  ControlRequest cr{std::string(req.method_string()), std::string(req.target()),
                    std::move(req.body())};
  parser_.reset();
  srv_.dispatch(id_, std::move(cr), std::exchange(reserved_, 0));
}

void Conn::answer(ControlResponse r) {
  if (state_ != State::kHandling) return;  // closed, or answered 503 at stop
  if (r.status < 200 || r.status > 599) r = {500, error_json("internal error")};
  write(r.status, std::move(r.body), keep_alive_ && !srv_.closing);
}

void Conn::write(int status, std::string body, bool keep_alive) {
  if (reserved_ > 0) srv_.release(std::exchange(reserved_, 0));
  state_ = State::kWriting;
  res_ = std::make_unique<http::response<http::string_body>>(static_cast<http::status>(status),
                                                             version_);
  res_->set(http::field::content_type, "application/json");
  res_->set(http::field::server, "depot-daemon");
  res_->keep_alive(keep_alive);
  res_->body() = std::move(body);
  res_->prepare_payload();
  arm();  // a client that does not read its answer is closed like an idle one
  http::async_write(sock_, *res_,
                    [self = shared_from_this(), keep_alive](beast::error_code ec, size_t) {
                      if (self->res_->body().size() >= kTrimAfter) self->srv_.trim_later();
                      self->res_.reset();
                      if (self->state_ != State::kWriting) return;
                      if (ec || !keep_alive || self->srv_.closing) return self->close();
                      self->read_header();
                    });
}

void Conn::stop() {
  if (state_ == State::kHandling) return write(503, kStoppingBody, /*keep_alive=*/false);
  if (state_ != State::kWriting) close();  // an answer being written closes when done
}

void Conn::close() {
  if (state_ == State::kClosed) return;
  auto self = shared_from_this();
  state_ = State::kClosed;
  set_waiting(false);
  disarm();
  beast::error_code ec;
  sock_.shutdown(local::socket::shutdown_both, ec);
  sock_.close(ec);
  if (reserved_ > 0) srv_.release(std::exchange(reserved_, 0));
  srv_.forget(id_);
}

// Shared by the copies of one ControlReply: answers once; answers 500 when dropped unanswered.
class ReplyState {
 public:
  ReplyState(std::weak_ptr<ControlServer::Impl> srv, uint64_t conn)
      : srv_(std::move(srv)), conn_(conn) {}
  ~ReplyState() { send({500, error_json("the request was not answered")}); }

  void send(ControlResponse r) noexcept {
    if (sent_.exchange(true)) return;
    try {
      if (auto srv = srv_.lock()) {
        asio::post(srv->ioc, [w = srv_, id = conn_, r = std::move(r)]() mutable {
          if (auto s = w.lock()) s->deliver(id, std::move(r));
        });
      }
    } catch (const std::exception&) {
      // Out of memory: the connection is closed by its deadline or at stop.
    }
  }

 private:
  std::weak_ptr<ControlServer::Impl> srv_;
  const uint64_t conn_;
  std::atomic<bool> sent_{false};
};

}  // namespace

void ControlServer::Impl::accept() {
  if (closing) return;
  accepting = true;
  try {
    acceptor.async_accept([this](beast::error_code ec, local::socket sock) {
      accepting = false;
      on_accept(ec, std::move(sock));
    });
  } catch (const std::exception& e) {
    log.error("control_accept_failed", {{"error", e.what()}});
    accept_later();
  }
}

void ControlServer::Impl::on_accept(beast::error_code ec, local::socket sock) {
  if (closing) return;
  if (ec) {
    log.warn("control_accept_failed",
             {{"error", ec.message()}, {"retry_ms", kAcceptPause.count()}});
    return accept_later();
  }
  try {
    admit(std::move(sock));
  } catch (const std::exception& e) {
    log.error("control_connection_failed", {{"error", e.what()}});
  }
  accept();
}

// After a pause, accepts once without waiting: epoll reports a listening socket ready only when
// a new connection arrives, so a connection left pending by a failed accept needs this.
void ControlServer::Impl::accept_later() {
  accepting = true;
  accept_pause.expires_after(kAcceptPause);
  accept_pause.async_wait([this](beast::error_code ec) {
    accepting = false;
    if (ec || closing) return;
    local::socket sock(ioc);
    acceptor.non_blocking(true, ec);
    if (!ec) acceptor.accept(sock, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) return accept();
    on_accept(ec, std::move(sock));
  });
}

void ControlServer::Impl::admit(local::socket sock) {
  if (conns.size() >= opts.max_connections) {
    if (waiting.empty()) return refuse_busy(sock);
    waiting.front()->close();  // the connection waiting longest for a request
    note_cap(true);
  }
  auto c = std::make_shared<Conn>(*this, next_id++, std::move(sock));
  conns.emplace(c->id(), c);
  c->start();
}

void ControlServer::Impl::refuse_busy(local::socket& sock) {
  static const std::string kBody = error_json("too many control connections are busy");
  static const std::string kBusy =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: " +
      std::to_string(kBody.size()) + "\r\nConnection: close\r\n\r\n" + kBody;
  char drain[4096];  // what the client sent already; unread data would reset its connection
  (void)!::recv(sock.native_handle(), drain, sizeof drain, MSG_DONTWAIT);
  (void)!::send(sock.native_handle(), kBusy.data(), kBusy.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  beast::error_code ec;
  sock.close(ec);
  note_cap(false);
}

void ControlServer::Impl::note_cap(bool closed) {
  ++(closed ? closed_idle : refused);
  auto now = SteadyClock::now();
  if (now - cap_logged < kCapLogInterval) return;
  cap_logged = now;
  log.warn("control_connection_cap",
           {{"max_connections", static_cast<uint64_t>(opts.max_connections)},
            {"closed_idle", std::exchange(closed_idle, 0)},
            {"refused", std::exchange(refused, 0)}});
}

void ControlServer::Impl::reserve(const std::shared_ptr<Conn>& c, uint64_t bytes) {
  if (budget_queue.empty() && budget_used + bytes <= opts.body_budget) {
    budget_used += bytes;
    return c->granted(bytes);
  }
  budget_queue.emplace_back(c, bytes);
}

void ControlServer::Impl::release(uint64_t bytes) {
  budget_used -= std::min(bytes, budget_used);
  while (!budget_queue.empty()) {
    auto [weak, need] = budget_queue.front();
    std::shared_ptr<Conn> c = weak.lock();
    if (c && c->state() == Conn::State::kBudget) {
      if (budget_used + need > opts.body_budget) return;
      budget_used += need;
      budget_queue.pop_front();
      c->granted(need);
    } else {
      budget_queue.pop_front();
    }
  }
}

void ControlServer::Impl::forget(uint64_t id) {
  conns.erase(id);
  if (closing && conns.empty()) {
    stop_timer.cancel();
    ioc.stop();
  }
}

void ControlServer::Impl::dispatch(uint64_t id, ControlRequest req, uint64_t reserved) {
  auto state = std::make_shared<ReplyState>(weak_from_this(), id);
  ControlReply reply = [state](ControlResponse r) { state->send(std::move(r)); };
  try {
    asio::post(pool, [this, req = std::move(req), reply = std::move(reply), reserved]() mutable {
      run_handler(req, reply);
      reply = nullptr;  // answers 500 now if the handler neither answered nor kept it
      const bool large = req.body.size() >= kTrimAfter;
      std::string().swap(req.body);
      if (reserved > 0) {
        try {
          asio::post(ioc, [this, reserved] { release(reserved); });
        } catch (const std::exception&) {
        }
      }
      if (large) ::malloc_trim(0);  // give the arenas' free pages back
    });
  } catch (const std::exception& e) {
    log.error("control_dispatch_failed", {{"error", e.what()}});
    if (reserved > 0) release(reserved);
  }
}

void ControlServer::Impl::run_handler(const ControlRequest& req, const ControlReply& reply) {
  try {
    handler(req, reply);
  } catch (const std::exception& e) {
    log.error("control_handler_threw", {{"target", req.target.substr(0, 64)}, {"error", e.what()}});
    reply({500, error_json("internal error")});
  } catch (...) {
    log.error("control_handler_threw", {{"target", req.target.substr(0, 64)}});
    reply({500, error_json("internal error")});
  }
}

void ControlServer::Impl::trim_later() {
  try {
    asio::post(pool, [] { ::malloc_trim(0); });
  } catch (const std::exception&) {
  }
}

void ControlServer::Impl::deliver(uint64_t id, ControlResponse r) {
  if (auto it = conns.find(id); it != conns.end()) it->second->answer(std::move(r));
}

void ControlServer::Impl::shut_down() {
  if (closing) return;
  closing = true;
  beast::error_code ec;
  acceptor.close(ec);
  accept_pause.cancel();
  std::vector<std::shared_ptr<Conn>> all;
  for (auto& [id, c] : conns) all.push_back(c);
  for (auto& c : all) c->stop();
  if (conns.empty()) return ioc.stop();
  stop_timer.expires_after(kStopGrace);
  stop_timer.async_wait([this](beast::error_code e) {
    if (e) return;
    std::vector<std::shared_ptr<Conn>> rest;
    for (auto& [id, c] : conns) rest.push_back(c);
    for (auto& c : rest) c->close();
    ioc.stop();
  });
}

ControlServer::ControlServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

ControlServer::~ControlServer() {
  stop();
  impl_->pool.join();  // running handlers finish; answers they post are dropped
  beast::error_code ec;
  impl_->acceptor.close(ec);
  if (is_same_file(impl_->path, impl_->dev, impl_->ino)) ::unlink(impl_->path.c_str());
}

Result<std::unique_ptr<ControlServer>> ControlServer::listen(const std::filesystem::path& socket,
                                                             ControlHandler handler, Logger& logger,
                                                             const ControlServerOptions& options) {
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
  ControlServerOptions opts = options;
  opts.max_connections = std::max<size_t>(1, opts.max_connections);
  opts.handler_threads = std::max(1u, opts.handler_threads);
  opts.body_budget = std::max(opts.body_budget, opts.max_body);
  opts.idle_timeout = std::max(opts.idle_timeout, std::chrono::milliseconds(1));
  DEPOT_ASSIGN_OR_RETURN(ListeningSocket ls, listen_unix_in_place(socket, 0660));
  try {
    auto impl = std::make_shared<Impl>(socket, std::move(handler), logger, opts);
    impl->dev = ls.dev;
    impl->ino = ls.ino;
    impl->acceptor.assign(local(), ls.fd.get());
    ls.fd.release();
    impl->accept();
    return std::unique_ptr<ControlServer>(new ControlServer(std::move(impl)));
  } catch (const std::exception& e) {
    if (is_same_file(socket, ls.dev, ls.ino)) ::unlink(socket.c_str());
    return make_error(ErrorCode::kIo, socket.string() + ": " + e.what());
  }
}

void ControlServer::run() {
  Impl& s = *impl_;
  for (;;) {
    try {
      s.ioc.run();
      return;
    } catch (const std::exception& e) {
      s.log.error("control_loop_failed", {{"error", e.what()}});
    } catch (...) {
      s.log.error("control_loop_failed", {{"error", "unknown exception"}});
    }
    if (!s.accepting && !s.closing) s.accept();
  }
}

void ControlServer::stop() {
  Impl& s = *impl_;
  if (s.stop_requested.exchange(true)) return;
  try {
    asio::post(s.ioc, [&s] { s.shut_down(); });
  } catch (const std::exception&) {
    s.ioc.stop();
  }
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
      http::string_to_verb(beast::string_view(method.data(), method.size())), std::string(target),
      11};
  req.set(http::field::host, "depot");
  req.set(http::field::content_type, "application/json");
  req.body() = std::string(body);
  req.prepare_payload();
  http::write(stream, req, ec);
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxAnswer);
  // A daemon may answer (413, 503) and close before reading the whole request.
  if (!ec || ec == asio::error::broken_pipe || ec == asio::error::connection_reset) {
    http::read(stream, buf, parser, ec);
  }
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

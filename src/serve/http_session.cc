#include "serve/http_session.h"

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>

#include "core/rel_path.h"
#include "serve/http_session_impl.h"
#include "serve/page_rewrite.h"
#include "serve/proxy_target.h"
#include "serve/request_path.h"

namespace depot {
namespace session_detail {

const std::string& date_now() {
  thread_local std::time_t cached_at = 0;
  thread_local std::string cached;
  std::time_t now = std::time(nullptr);
  if (now != cached_at) {
    cached_at = now;
    cached = format_http_date(now);
  }
  return cached;
}

std::string_view header_or_empty(const http::request<http::empty_body>& req, http::field f) {
  auto it = req.find(f);
  if (it == req.end()) return {};
  return std::string_view(it->value().data(), it->value().size());
}

void Session::start() {
  srv_.metrics.open_connections++;
  beast::error_code ec;
  sock_.set_option(tcp::no_delay(true), ec);
  sock_.native_non_blocking(true, ec);
  remote_ = sock_.remote_endpoint(ec).address().to_string(ec);
  watchdog();
  read_request();
}

uint64_t Session::taken() const {
  int queued = 0;
  if (::ioctl(const_cast<tcp::socket&>(sock_).native_handle(), TIOCOUTQ, &queued) != 0) {
    queued = 0;
  }
  return wrote_ - std::min<uint64_t>(wrote_, static_cast<uint64_t>(std::max(queued, 0)));
}

void Session::watchdog() {
  auto period = std::max<std::chrono::milliseconds>(
      std::min(srv_.opts.idle_timeout, srv_.opts.send_timeout) / 4,
      std::chrono::milliseconds(50));
  timer_.expires_after(period);
  timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec || !self->sock_.is_open()) return;
    auto now = std::chrono::steady_clock::now();
    if (self->phase_ == Phase::kReading &&
        now - self->activity_ >= self->srv_.opts.idle_timeout) {
      return self->close();
    }
    if (self->phase_ == Phase::kSending && !self->progress_started_) {
      self->progress_.start(now, self->taken());
      self->progress_started_ = true;
    } else if (self->phase_ == Phase::kSending && !self->progress_.ok(now, self->taken())) {
      self->srv_.metrics.slow_clients_cut++;
      return self->close();
    }
    self->watchdog();
  });
}

void Session::watch_client() {
  if (watching_) return;
  watching_ = true;
  sock_.async_wait(tcp::socket::wait_read,
                   [self = shared_from_this()](beast::error_code ec) {
                     self->watching_ = false;
                     if (ec || !self->sock_.is_open() || self->phase_ != Phase::kWaiting) return;
                     self->on_client_readable();
                   });
}

void Session::on_client_readable() {
  constexpr size_t kPipelineLimit = 64 * 1024;
  auto space = buf_.prepare(4096);
  ssize_t n = ::recv(sock_.native_handle(), space.data(), space.size(), MSG_DONTWAIT);
  if (n > 0) {
    buf_.commit(static_cast<size_t>(n));
    if (buf_.size() < kPipelineLimit) watch_client();
    return;
  }
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
    return watch_client();
  }
  client_gone();
}

void Session::client_gone() {
  srv_.metrics.client_aborts++;
  status_ = 499;  // nginx's "client closed request"
  record_request();
  close();
}

void Session::close() {
  beast::error_code ec;
  timer_.cancel();
  if (pending_) pending_->cancel();
  pending_.reset();
  if (stream_waiter_ != 0 && answer_.download) answer_.download->unwait(stream_waiter_);
  stream_waiter_ = 0;
  upload_.reset();  // an unfinished upload leaves nothing behind
  answer_.interest.reset();  // this client no longer wants the download
  sock_.shutdown(tcp::socket::shutdown_both, ec);
  sock_.close(ec);
}

void Session::read_request() {
  parser_.emplace();
  parser_->header_limit(kHeaderLimit);
  // An upload's body may be any size; other requests get kBodyLimit back in on_header. (Not
  // boost::none: Beast 1.74 compares a Content-Length with it as if none were below every value.)
  parser_->body_limit(std::numeric_limits<uint64_t>::max());
  arm_read();
  http::async_read_header(sock_, buf_, *parser_,
                          [self = shared_from_this()](beast::error_code ec, size_t) {
                            self->on_header(ec);
                          });
}

void Session::on_header(beast::error_code ec) {
  if (!ec && is_usage_report()) return start_usage_report();
  if (!ec && srv_.node != nullptr) {
    auto target = parser_->get().target();
    if (NodeApi::handles(std::string_view(target.data(), target.size()))) return handle_node();
  }
  if (!ec && !parser_->is_done()) {
    // A body on a request that takes none: read on as before, to the same 413 (or, for an
    // empty chunked body, to an answer).
    auto length = parser_->content_length();
    if (length && *length > kBodyLimit) return on_read(http::error::body_limit);
    parser_->body_limit(kBodyLimit);
    return http::async_read(sock_, buf_, *parser_,
                            [self = shared_from_this()](beast::error_code ec2, size_t) {
                              self->on_read(ec2);
                            });
  }
  on_read(ec);
}

void Session::on_read(beast::error_code ec) {
  begin_request();
  if (ec) {
    if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset || ec == asio::error::eof || !sock_.is_open()) {
      close();
      return;
    }
    keep_alive_ = false;
    version_ = 11;
    method_ = "-";
    target_ = "-";
    if (ec == http::error::header_limit) {
      // Beast reports both as header_limit. It consumes the request line once it has parsed
      // it (the target is then set); otherwise the line is still in the buffer, and without
      // a line end the request line alone is too long.
      auto data = buf_.cdata();
      std::string_view seen(static_cast<const char*>(data.data()), data.size());
      bool line_done = !parser_->get().target().empty() ||
                       seen.find("\r\n") != std::string_view::npos;
      send_error(line_done ? 431 : 414, line_done ? "request headers too large"
                                                  : "request line too long");
    } else if (ec == http::error::unexpected_body || ec == http::error::body_limit) {
      send_error(413, "request bodies are not accepted");
    } else {
      send_error(400, "malformed request");
    }
    return;
  }
  handle();
}

namespace {

Answer local_answer(LocalRoutes::Page page) {
  Answer a;
  if (!page.redirect.empty()) {
    a.kind = Answer::Kind::kRedirect;
    a.status = 301;
    a.location = std::move(page.redirect);
    return a;
  }
  a.kind = Answer::Kind::kText;
  a.content_type = std::move(page.content_type);
  a.text = std::move(page.body);
  a.fields = std::move(page.fields);
  return a;
}

}  // namespace

void Session::begin_request() {
  started_ = std::chrono::steady_clock::now();
  started_wall_ = std::time(nullptr);
  answer_ = Answer{};
  sent_ = 0;
}

void Session::note_request() {
  const auto& req = parser_->get();
  version_ = req.version();
  keep_alive_ = req.keep_alive();
  method_ = std::string(req.method_string());
  target_ = std::string(req.target());
  user_agent_ = std::string(header_or_empty(req, http::field::user_agent));
  referer_ = std::string(header_or_empty(req, http::field::referer));
  head_only_ = req.method() == http::verb::head;
}

void Session::handle() {
  note_request();
  const auto& req = parser_->get();
  if (auto bad = framing_error(framing_of(req))) {
    keep_alive_ = false;
    return send_error(400, *bad);
  }
  if (req.method() == http::verb::connect) {
    srv_.metrics.proxy_refused[proxy_refusal_index("connect")]++;
    keep_alive_ = false;  // the client may go on with bytes meant for a tunnel
    return send_error(405,
                      "CONNECT " + quote_untrusted(target_) +
                          " refused: depot proxies http:// URLs only; reach https:// "
                          "hosts directly (apt: Acquire::https::Proxy \"DIRECT\";)",
                      {{"Allow", "GET, HEAD"}});
  }
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    send_error(405, "only GET and HEAD are supported", {{"Allow", "GET, HEAD"}});
    return;
  }
  // Origin-form targets (nearly every request) need no routing.
  const bool absolute = !target_.starts_with('/');
  TargetRoute route;
  if (absolute) {
    if (self_.empty()) self_ = self_names();
    route = route_request_target(target_, header_or_empty(req, http::field::host),
                                 srv_.service.proxy(), self_);
    if (route.kind == TargetRoute::Kind::kRefused) {
      srv_.metrics.proxy_refused[proxy_refusal_index(route.reason)]++;
      return send_error(route.status, route.message);
    }
  }
  const bool proxied = route.kind == TargetRoute::Kind::kProxied;
  if (proxied) srv_.metrics.proxy_requests++;
  const std::string& target = absolute ? route.target : target_;
  if (target == "/metrics") {
    Answer a;
    a.kind = Answer::Kind::kText;
    a.content_type = "text/plain; version=0.0.4; charset=utf-8";
    a.text = render_prometheus(srv_.metrics);
    if (srv_.routes != nullptr) a.text += srv_.routes->metrics();
    respond(std::move(a));
    return;
  }
  if (srv_.routes != nullptr) {
    if (auto page = srv_.routes->page(target)) return respond(local_answer(std::move(*page)));
  }
  auto path = parse_request_target(canonical_target(target));
  if (!path.ok()) {
    if (path.error().code == ErrorCode::kNotFound) {
      send_error(404, "not found");
    } else {
      keep_alive_ = false;
      send_error(400, "bad request path");
    }
    return;
  }
  ServeRequest sr;
  sr.rel = std::move(path->rel);
  sr.trailing_slash = path->trailing_slash;
  sr.accept = std::string(header_or_empty(req, http::field::accept));
  sr.host = std::string(header_or_empty(req, http::field::host));
  if (proxied) {
    sr.max_age = client_max_age(header_or_empty(req, http::field::cache_control),
                                header_or_empty(req, http::field::pragma));
  }
  auto self = shared_from_this();
  auto later = [self](Answer a) {
    asio::post(self->sock_.get_executor(),
               [self, a = std::move(a)]() mutable { self->respond(std::move(a)); });
  };
  std::shared_ptr<PendingAnswer> pending;
  if (auto a = srv_.service.resolve(sr, later, &pending)) return respond(std::move(*a));
  pending_ = std::move(pending);
  disarm();
}

std::vector<std::string> Session::self_names() {
  beast::error_code ec;
  auto local = sock_.local_endpoint(ec);
  if (ec) return {};
  auto address = local.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  return self_authorities(address.to_string(ec), local.port(), srv_.service.public_url());
}

RequestFraming Session::framing_of(const http::request<http::empty_body>& req) {
  RequestFraming f;
  f.version = req.version();
  f.host_fields = req.count(http::field::host);
  auto te = req.find(http::field::transfer_encoding);
  f.has_transfer_encoding = te != req.end();
  if (f.has_transfer_encoding) {
    f.transfer_encoding = std::string_view(te->value().data(), te->value().size());
  }
  f.has_content_length = req.find(http::field::content_length) != req.end();
  return f;
}

void Session::done_response() {
  record_request();
  answer_ = Answer{};
  sr_.reset();
  if (!keep_alive_) return close();
  read_request();
}

void Session::record_request() {
  auto& m = srv_.metrics;
  m.requests_by_class[std::min(status_ / 100, 5)]++;
  m.outcomes[static_cast<int>(answer_.outcome)]++;
  m.bytes_sent += sent_;
  if (srv_.access) {
    AccessRecord r;
    r.remote = remote_;
    r.method = method_;
    r.target = target_;
    r.status = status_;
    r.bytes = sent_;
    r.duration = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - started_);
    r.outcome = answer_.outcome;
    r.user_agent = user_agent_;
    r.referer = referer_;
    r.time = started_wall_;
    srv_.access->write(r);
  }
}

}  // namespace session_detail

void start_http_session(boost::asio::io_context& ioc, int fd, bool ipv6, SessionContext& ctx) {
  using namespace session_detail;
  beast::error_code ec;
  tcp::socket sock(ioc);
  sock.assign(ipv6 ? tcp::v6() : tcp::v4(), fd, ec);
  if (ec) {
    ::close(fd);
    return;
  }
  std::make_shared<Session>(std::move(sock), ctx)->start();
}

}  // namespace depot

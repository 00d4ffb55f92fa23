#include "serve/http_session.h"

#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <optional>

#include "serve/http_semantics.h"
#include "serve/page_rewrite.h"
#include "serve/request_path.h"
#include "serve/send_progress.h"

namespace depot {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr uint32_t kHeaderLimit = 8 * 1024;
constexpr uint64_t kSmallFile = 32 * 1024;    // read and sent with the header in one write
constexpr uint64_t kSendfileChunk = 4 << 20;  // per sendfile call

// "Date:" value, formatted once per second per thread.
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


class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket s, SessionContext& srv)
      : sock_(std::move(s)),
        timer_(sock_.get_executor()),
        srv_(srv),
        progress_(srv.opts.send_timeout, srv.opts.min_send_rate) {}

  void start() {
    srv_.metrics.open_connections++;
    beast::error_code ec;
    sock_.set_option(tcp::no_delay(true), ec);
    sock_.native_non_blocking(true, ec);
    remote_ = sock_.remote_endpoint(ec).address().to_string(ec);
    watchdog();
    read_request();
  }

  ~Session() { srv_.metrics.open_connections--; }

 private:
  // What the connection is doing, for the watchdog: reading a request (bounded by
  // idle_timeout), waiting for an upstream answer or for download bytes (watched for the client
  // going away), or sending (bounded by SendProgress).
  enum class Phase { kReading, kWaiting, kSending };

  // Deadlines cost no syscall per request: phase changes only mark the session, and one
  // periodic watchdog per connection closes it when the client has kept it waiting too long.
  // The send window starts at the first watchdog check (a response that is sent before it costs
  // no ioctl).
  void arm() {
    if (phase_ != Phase::kSending) progress_started_ = false;
    phase_ = Phase::kSending;
  }
  void arm_read() {
    phase_ = Phase::kReading;
    activity_ = std::chrono::steady_clock::now();
  }
  void disarm() {
    phase_ = Phase::kWaiting;
    watch_client();
  }

  // Bytes the client has taken: written to the socket minus still queued in it.
  uint64_t taken() const {
    int queued = 0;
    if (::ioctl(const_cast<tcp::socket&>(sock_).native_handle(), TIOCOUTQ, &queued) != 0) {
      queued = 0;
    }
    return wrote_ - std::min<uint64_t>(wrote_, static_cast<uint64_t>(std::max(queued, 0)));
  }

  void watchdog() {
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

  // While the session waits, a readable socket means the client went away (EOF or reset) or
  // pipelined its next request (kept in buf_ for the parser, up to a limit).
  void watch_client() {
    if (watching_) return;
    watching_ = true;
    sock_.async_wait(tcp::socket::wait_read,
                     [self = shared_from_this()](beast::error_code ec) {
                       self->watching_ = false;
                       if (ec || !self->sock_.is_open() || self->phase_ != Phase::kWaiting) return;
                       self->on_client_readable();
                     });
  }

  void on_client_readable() {
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

  // The client left while waiting: drop its claim on the upstream download, log, close.
  void client_gone() {
    srv_.metrics.client_aborts++;
    status_ = 499;  // nginx's "client closed request"
    record_request();
    close();
  }

  void close() {
    beast::error_code ec;
    timer_.cancel();
    if (pending_) pending_->cancel();
    pending_.reset();
    if (stream_waiter_ != 0 && answer_.download) answer_.download->unwait(stream_waiter_);
    stream_waiter_ = 0;
    answer_.interest.reset();  // this client no longer wants the download
    sock_.shutdown(tcp::socket::shutdown_both, ec);
    sock_.close(ec);
  }

  void read_request() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    arm_read();
    http::async_read(sock_, buf_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->on_read(ec);
                     });
  }

  void on_read(beast::error_code ec) {
    started_ = std::chrono::steady_clock::now();
    started_wall_ = std::time(nullptr);
    answer_ = Answer{};
    sent_ = 0;
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

  void handle() {
    const auto& req = parser_->get();
    version_ = req.version();
    keep_alive_ = req.keep_alive();
    method_ = std::string(req.method_string());
    target_ = std::string(req.target());
    user_agent_ = std::string(header_or_empty(req, http::field::user_agent));
    referer_ = std::string(header_or_empty(req, http::field::referer));
    head_only_ = req.method() == http::verb::head;
    if (auto bad = framing_error(framing_of(req))) {
      keep_alive_ = false;
      return send_error(400, *bad);
    }
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      send_error(405, "only GET and HEAD are supported", {{"Allow", "GET, HEAD"}});
      return;
    }
    if (target_ == "/metrics") {
      Answer a;
      a.kind = Answer::Kind::kText;
      a.content_type = "text/plain; version=0.0.4; charset=utf-8";
      a.text = render_prometheus(srv_.metrics);
      respond(std::move(a));
      return;
    }
    auto path = parse_request_target(canonical_target(target_));
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

  static RequestFraming framing_of(const http::request<http::empty_body>& req) {
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

  void base_headers(http::response_header<>& h, int status) {
    h.result(static_cast<unsigned>(status));
    h.version(version_);
    h.set(http::field::server, "depot");
    h.set(http::field::date, date_now());
    if (version_ >= 11) {
      if (!keep_alive_) h.set(http::field::connection, "close");
    } else if (keep_alive_) {
      h.set(http::field::connection, "keep-alive");
    }
    status_ = status;
  }

  void cache_headers(http::response_header<>& h) {
    if (answer_.outcome != CacheOutcome::kNone) {
      h.set("X-Depot-Cache", cache_outcome_name(answer_.outcome));
    }
    if (answer_.stale) {
      h.set("X-Depot-Stale", "1");
      h.set(http::field::warning, "110 - \"Response is Stale\"");
    }
  }

  void send_error(int status, std::string text,
                  std::initializer_list<std::pair<const char*, const char*>> extra = {}) {
    small_ = {};
    if (status >= 400 && status != 404 && status != 405 && status != 416) keep_alive_ = false;
    base_headers(small_.base(), status);
    for (const auto& [k, v] : extra) small_.set(k, v);
    small_.set(http::field::content_type, "text/plain; charset=utf-8");
    small_.body() = head_only_ ? std::string() : text + "\n";
    small_.content_length(text.size() + 1);
    write_small();
  }

  void write_small() {
    arm();
    http::async_write(sock_, small_, [self = shared_from_this()](beast::error_code ec, size_t n) {
      self->wrote_ += n;
      if (ec) return self->close();
      self->sent_ += self->small_.body().size();
      self->done_response();
    });
  }

  void respond(Answer a) {
    if (!sock_.is_open()) return;  // the client left while the answer was on its way
    pending_.reset();
    answer_ = std::move(a);
    switch (answer_.kind) {
      case Answer::Kind::kError:
        if (answer_.retry_after > 0) {
          std::string seconds = std::to_string(answer_.retry_after);
          return send_error(answer_.status, answer_.text, {{"Retry-After", seconds.c_str()}});
        }
        return send_error(answer_.status, answer_.text);
      case Answer::Kind::kRedirect:
        return send_error(301, "moved to " + answer_.location,
                          {{"Location", answer_.location.c_str()}});
      case Answer::Kind::kText: {
        small_ = {};
        base_headers(small_.base(), 200);
        cache_headers(small_.base());  // a rewritten document says where it came from
        small_.set(http::field::content_type, answer_.content_type);
        small_.content_length(answer_.text.size());
        if (!head_only_) small_.body() = std::move(answer_.text);
        return write_small();
      }
      case Answer::Kind::kFile:
        return respond_file();
      case Answer::Kind::kStream:
        return respond_stream();
    }
  }

  void respond_file() {
    const auto& req = parser_->get();
    if (answer_.prepared) {
      if (plain_request(req)) return respond_prepared();
      answer_.content_type = answer_.prepared->content_type;
      answer_.etag = answer_.prepared->etag;
      answer_.last_modified = answer_.prepared->last_modified;
    }
    Validators v{answer_.etag, static_cast<std::time_t>(answer_.mtime)};
    ConditionalHeaders ch{header_or_empty(req, http::field::if_match),
                          header_or_empty(req, http::field::if_none_match),
                          header_or_empty(req, http::field::if_modified_since),
                          header_or_empty(req, http::field::if_unmodified_since)};
    Precondition pc = evaluate_preconditions(ch, v, true);
    if (pc == Precondition::kFailed) return send_error(412, "precondition failed");
    small_ = {};
    auto& h = small_.base();
    if (pc == Precondition::kNotModified) {
      base_headers(h, 304);
      h.set(http::field::etag, answer_.etag);
      if (!answer_.last_modified.empty()) h.set(http::field::last_modified, answer_.last_modified);
      cache_headers(h);
      return write_small();
    }
    if (!start_ranged_answer(req, v)) return write_small();  // 416
    h.set(http::field::etag, answer_.etag);
    if (!answer_.last_modified.empty()) h.set(http::field::last_modified, answer_.last_modified);
    cache_headers(h);
    small_.content_length(end_ - offset_);
    if (head_only_) return write_small();
    if (end_ - offset_ <= kSmallFile) {
      std::string& body = small_.body();
      body.resize(end_ - offset_);
      ssize_t got = ::pread(answer_.body->fd.get(), body.data(), body.size(),
                            static_cast<off_t>(offset_));
      if (got != static_cast<ssize_t>(body.size())) {
        return send_error(500, "cannot read the file");
      }
      return write_small();
    }
    body_fd_ = answer_.body->fd.get();
    write_head_then_body();
  }

  // Status line, Content-Range, Content-Type and Accept-Ranges of a file answer, and the byte
  // span [offset_, end_) to send. False when the Range is unsatisfiable: small_ then holds a
  // complete 416.
  bool start_ranged_answer(const http::request<http::empty_body>& req, const Validators& v) {
    auto& h = small_.base();
    RangeDecision rd = evaluate_range(header_or_empty(req, http::field::range),
                                      header_or_empty(req, http::field::if_range),
                                      answer_.size, v);
    if (rd.kind == RangeKind::kUnsatisfiable) {
      base_headers(h, 416);
      h.set(http::field::content_range, "bytes */" + std::to_string(answer_.size));
      small_.content_length(0);
      return false;
    }
    offset_ = 0;
    end_ = answer_.size;
    if (rd.kind == RangeKind::kSatisfiable) {
      base_headers(h, 206);
      h.set(http::field::content_range, content_range(rd.range, answer_.size));
      offset_ = rd.range.first;
      end_ = rd.range.last + 1;
    } else {
      base_headers(h, 200);
    }
    h.set(http::field::content_type, answer_.content_type);
    h.set(http::field::accept_ranges, "bytes");
    return true;
  }

  static bool plain_request(const http::request<http::empty_body>& req) {
    for (http::field f : {http::field::range, http::field::if_none_match,
                          http::field::if_modified_since, http::field::if_match,
                          http::field::if_unmodified_since}) {
      if (req.find(f) != req.end()) return false;
    }
    return true;
  }

  // A whole file from the open-file cache: the header is its pre-rendered fields plus the
  // status line, Date and Connection; a small body goes out in the same write.
  void respond_prepared() {
    const PreparedFile& p = *answer_.prepared;
    status_ = 200;
    head_.clear();
    head_ += version_ >= 11 ? "HTTP/1.1 200 OK\r\n" : "HTTP/1.0 200 OK\r\n";
    head_ += "Server: depot\r\nDate: ";
    head_ += date_now();
    head_ += "\r\n";
    head_ += p.fields;
    if (version_ >= 11) {
      if (!keep_alive_) head_ += "Connection: close\r\n";
    } else if (keep_alive_) {
      head_ += "Connection: keep-alive\r\n";
    }
    head_ += "\r\n";
    bool body_now = !head_only_ && p.has_bytes;
    std::array<asio::const_buffer, 2> bufs{
        asio::buffer(head_), body_now ? asio::buffer(p.bytes) : asio::const_buffer()};
    arm();
    asio::async_write(sock_, bufs,
                      [self = shared_from_this(), body_now](beast::error_code ec, size_t n) {
                        self->wrote_ += n;
                        if (ec) return self->close();
                        if (body_now) self->sent_ += self->answer_.size;
                        if (self->head_only_ || body_now) return self->done_response();
                        self->offset_ = 0;
                        self->end_ = self->answer_.size;
                        self->body_fd_ = self->answer_.body->fd.get();
                        self->send_body();
                      });
  }

  // A body still downloading. A single Range is honoured (a resuming client waits for the bytes
  // it asked for); conditional headers are not evaluated against a body that is not complete.
  void respond_stream() {
    const auto& req = parser_->get();
    small_ = {};
    auto& h = small_.base();
    Validators v{answer_.etag, static_cast<std::time_t>(answer_.mtime)};
    if (!start_ranged_answer(req, v)) return write_small();  // 416
    if (!answer_.etag.empty()) h.set(http::field::etag, answer_.etag);
    if (!answer_.last_modified.empty()) h.set(http::field::last_modified, answer_.last_modified);
    cache_headers(h);
    small_.content_length(end_ - offset_);
    if (head_only_) return write_small();
    body_fd_ = answer_.download->body_fd();
    write_head_then_body();
  }

  void write_head_then_body() {
    sr_.emplace(small_);
    arm();
    http::async_write_header(sock_, *sr_,
                             [self = shared_from_this()](beast::error_code ec, size_t n) {
                               self->wrote_ += n;
                               if (ec) return self->close();
                               self->send_body();
                             });
  }

  // Sends [offset_, end_) of body_fd_ with sendfile; a streaming answer waits for the bytes
  // its download may release, and is cut short when the download fails.
  void send_body() {
    if (!sock_.is_open()) return;
    stream_waiter_ = 0;
    for (;;) {
      uint64_t limit = end_;
      if (answer_.kind == Answer::Kind::kStream) {
        Download::Snapshot snap = answer_.download->snapshot();
        if (snap.state == Download::State::kFailed) return close();
        // The last byte asked for (of a range, too) waits until the download is verified.
        uint64_t cap = snap.state == Download::State::kComplete || end_ == 0 ? end_ : end_ - 1;
        limit = std::min<uint64_t>(cap, snap.sendable());
        if (offset_ >= limit && offset_ < end_) {
          auto self = shared_from_this();
          uint64_t seen = std::max<uint64_t>(offset_, snap.sendable());
          stream_waiter_ = answer_.download->wait(snap.state, seen, [self] {
            asio::post(self->sock_.get_executor(), [self] { self->send_body(); });
          });
          if (stream_waiter_ != 0) disarm();
          return;
        }
      }
      if (offset_ >= end_) return done_response();
      off_t off = static_cast<off_t>(offset_);
      ssize_t n = ::sendfile(sock_.native_handle(), body_fd_, &off,
                             std::min<uint64_t>(limit - offset_, kSendfileChunk));
      if (n > 0) {
        offset_ += static_cast<uint64_t>(n);
        sent_ += static_cast<uint64_t>(n);
        wrote_ += static_cast<uint64_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        arm();
        sock_.async_wait(tcp::socket::wait_write,
                         [self = shared_from_this()](beast::error_code ec) {
                           if (ec) return self->close();
                           self->send_body();
                         });
        return;
      }
      return close();  // the peer went away, or the file is shorter than announced
    }
  }

  void done_response() {
    record_request();
    answer_ = Answer{};
    sr_.reset();
    if (!keep_alive_) return close();
    read_request();
  }

  // Metrics and the access log line of the request just answered (or abandoned).
  void record_request() {
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

  tcp::socket sock_;
  asio::steady_timer timer_;
  SessionContext& srv_;
  beast::flat_buffer buf_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  std::string remote_, method_, target_, user_agent_, referer_;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool head_only_ = false;
  Phase phase_ = Phase::kReading;
  bool watching_ = false;  // a wait_read for watch_client() is outstanding
  std::chrono::steady_clock::time_point activity_;  // when the current request read began
  SendProgress progress_;
  bool progress_started_ = false;
  uint64_t wrote_ = 0;  // bytes written to the socket over the connection's life
  std::shared_ptr<PendingAnswer> pending_;  // the upstream answer this request waits for
  uint64_t stream_waiter_ = 0;  // a Download::wait() of send_body, 0: none
  std::chrono::steady_clock::time_point started_;
  std::time_t started_wall_ = 0;
  http::response<http::string_body> small_;
  std::string head_;  // the pre-rendered header of respond_prepared(); capacity reused
  std::optional<http::serializer<false, http::string_body>> sr_;
  Answer answer_;
  int body_fd_ = -1;
  uint64_t offset_ = 0, end_ = 0, sent_ = 0;
  int status_ = 0;
};


}  // namespace

void start_http_session(boost::asio::io_context& ioc, int fd, bool ipv6, SessionContext& ctx) {
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

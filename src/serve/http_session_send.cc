// Session's answers: status and headers, small bodies in one write, files by sendfile, and
// bodies still downloading followed as they grow (see http_session_impl.h).

#include <sys/sendfile.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>

#include "serve/http_session_impl.h"

namespace depot::session_detail {

void Session::base_headers(http::response_header<>& h, int status) {
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

void Session::cache_headers(http::response_header<>& h) {
  if (answer_.outcome != CacheOutcome::kNone) {
    h.set("X-Depot-Cache", cache_outcome_name(answer_.outcome));
  }
  if (answer_.stale) {
    h.set("X-Depot-Stale", "1");
    h.set(http::field::warning, "110 - \"Response is Stale\"");
  }
}

void Session::send_error(int status, std::string text,
                         std::initializer_list<std::pair<const char*, const char*>> extra) {
  small_ = {};
  if (status >= 400 && status != 404 && status != 405 && status != 416) keep_alive_ = false;
  base_headers(small_.base(), status);
  for (const auto& [k, v] : extra) small_.set(k, v);
  small_.set(http::field::content_type, "text/plain; charset=utf-8");
  small_.body() = head_only_ ? std::string() : text + "\n";
  small_.content_length(text.size() + 1);
  write_small();
}

void Session::write_small() {
  arm();
  http::async_write(sock_, small_, [self = shared_from_this()](beast::error_code ec, size_t n) {
    self->wrote_ += n;
    if (ec) return self->close();
    self->sent_ += self->small_.body().size();
    self->done_response();
  });
}

void Session::respond(Answer a) {
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
      for (const auto& [name, value] : answer_.fields) small_.set(name, value);
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

void Session::respond_file() {
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

bool Session::start_ranged_answer(const http::request<http::empty_body>& req, const Validators& v) {
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

bool Session::plain_request(const http::request<http::empty_body>& req) {
  for (http::field f : {http::field::range, http::field::if_none_match,
                        http::field::if_modified_since, http::field::if_match,
                        http::field::if_unmodified_since}) {
    if (req.find(f) != req.end()) return false;
  }
  return true;
}

void Session::respond_prepared() {
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

void Session::respond_stream() {
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

void Session::write_head_then_body() {
  sr_.emplace(small_);
  arm();
  http::async_write_header(sock_, *sr_,
                           [self = shared_from_this()](beast::error_code ec, size_t n) {
                             self->wrote_ += n;
                             if (ec) return self->close();
                             self->send_body();
                           });
}

void Session::send_body() {
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

}  // namespace depot::session_detail

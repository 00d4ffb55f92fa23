// Session's side of the storage node API (see http_session_impl.h, node_api.h): requests under
// /_depot/ go to NodeApi; a PUT of a file has its body read in chunks into the node store's
// upload, the idle timeout counting from each chunk, so a client that stops sending is cut and
// its upload dropped with its temporary file. A refused PUT is answered before its body when the
// client waits for 100 Continue; otherwise a body up to kDiscardLimit is read and dropped first.

#include "core/text.h"
#include "serve/http_session_impl.h"

namespace depot::session_detail {

NodeRequest Session::node_request() const {
  const auto& req = parser_->get();
  NodeRequest r;
  r.method = std::string_view(req.method_string().data(), req.method_string().size());
  r.target = std::string_view(req.target().data(), req.target().size());
  r.authorization = header_or_empty(req, http::field::authorization);
  auto sha = req.find("X-Depot-Sha256");
  if (sha != req.end()) r.sha256 = std::string_view(sha->value().data(), sha->value().size());
  if (req.find(http::field::content_length) != req.end()) {
    r.content_length = parser_->content_length().value_or(0);
  }
  return r;
}

void Session::handle_node() {
  begin_request();
  note_request();
  const auto& req = parser_->get();
  if (auto bad = framing_error(framing_of(req))) {
    keep_alive_ = false;
    return send_error(400, *bad);
  }
  NodeRequest nr = node_request();
  if (NodeApi::is_upload(nr.method, nr.target)) return start_upload(nr);
  if (!parser_->is_done()) {
    keep_alive_ = false;
    return send_error(413, "request bodies are not accepted");
  }
  send_node_reply(srv_.node->handle(nr));
}

void Session::start_upload(const NodeRequest& request) {
  NodeApi::PutStart start = srv_.node->begin_put(request);
  const bool expects =
      iequals(header_or_empty(parser_->get(), http::field::expect), "100-continue");
  if (!start.upload) {
    if (parser_->is_done()) return send_node_reply(std::move(start.reply));
    auto length = parser_->content_length();
    if (expects || !length || *length > kDiscardLimit) {
      keep_alive_ = false;  // its body is never read: the connection closes after the answer
      return send_node_reply(std::move(start.reply));
    }
    // A client that sends its body unasked would fail to send it and miss the answer: the
    // body is read and dropped first.
    refused_ = std::move(start.reply);
  }
  upload_ = std::move(start.upload);
  body_parser_.emplace(std::move(*parser_));
  upload_buf_.resize(kUploadChunk);
  if (!expects || refused_ || version_ < 11 || body_parser_->is_done()) return read_body();
  // The client waits for this before it sends the body (curl does for large bodies).
  static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  arm();
  asio::async_write(sock_, asio::buffer(kContinue.data(), kContinue.size()),
                    [self = shared_from_this()](beast::error_code ec, size_t n) {
                      self->wrote_ += n;
                      if (ec) return self->close();
                      self->read_body();
                    });
}

void Session::read_body() {
  if (body_parser_->is_done()) return finish_upload();
  auto& body = body_parser_->get().body();
  body.data = upload_buf_.data();
  body.size = upload_buf_.size();
  arm_read();  // the idle timeout counts from the last chunk
  http::async_read_some(sock_, buf_, *body_parser_,
                        [self = shared_from_this()](beast::error_code ec, size_t) {
                          self->on_body(ec);
                        });
}

void Session::on_body(beast::error_code ec) {
  if (ec == http::error::need_buffer) ec = {};
  if (ec) {
    // The client left, or its body broke off: nothing was committed.
    client_aborted_upload();
    return;
  }
  size_t got = upload_buf_.size() - body_parser_->get().body().size;
  if (got > 0 && upload_) {
    if (Status st = upload_->write(upload_buf_.data(), got); !st.ok()) {
      upload_.reset();
      keep_alive_ = false;  // the rest of the body is not read
      return send_node_reply(srv_.node->upload_failed(st.error()));
    }
  }
  read_body();
}

void Session::client_aborted_upload() {
  if (!sock_.is_open()) return;  // closed by the watchdog: already counted
  upload_.reset();
  refused_.reset();
  status_ = 499;
  record_request();
  close();
}

void Session::finish_upload() {
  NodeReply reply = upload_ ? srv_.node->finish_put(std::move(upload_)) : std::move(*refused_);
  refused_.reset();
  body_parser_.reset();
  send_node_reply(std::move(reply));
}

void Session::send_node_reply(NodeReply reply) {
  small_ = {};
  const int s = reply.status;
  if (s >= 400 && s != 404 && s != 405) keep_alive_ = false;
  base_headers(small_.base(), s);
  for (const auto& [name, value] : reply.headers) small_.set(name, value);
  small_.set(http::field::content_type, reply.content_type);
  small_.content_length(reply.content_length.value_or(reply.body.size()));
  if (!head_only_) small_.body() = std::move(reply.body);
  write_small();
}

}  // namespace depot::session_detail

#pragma once
// Private to the http_session*.cc files: the Session class behind start_http_session, split
// over http_session.cc (reading requests, deadlines, the connection's life),
// http_session_send.cc (writing answers) and http_session_node.cc (the storage node API,
// uploads streamed to the node store). The one header under src/ that includes Boost; only
// those .cc files, which include Boost anyway, may include it. A Session lives on one
// io_context thread; nothing in it is thread-safe.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// Asio 1.74 needs <utility> before it (std::exchange).
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "serve/answer.h"
#include "serve/http_semantics.h"
#include "serve/http_session.h"
#include "serve/send_progress.h"

namespace depot::session_detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

inline constexpr uint32_t kHeaderLimit = 8 * 1024;
inline constexpr uint64_t kSmallFile = 32 * 1024;    // read and sent with the header in one write
inline constexpr uint64_t kSendfileChunk = 4 << 20;  // per sendfile call
// Requests other than uploads may not carry bodies; one declaring more than this is refused at
// once (413), a smaller one when its first byte arrives (Beast's default request body limit).
inline constexpr uint64_t kBodyLimit = 1024 * 1024;
inline constexpr size_t kUploadChunk = 256 * 1024;  // upload bytes read per socket read
// A refused upload's body up to this size is read and dropped before the answer, so a client
// that sends it without waiting for 100 Continue gets the answer rather than a broken pipe.
inline constexpr uint64_t kDiscardLimit = 16 << 20;
inline constexpr std::string_view kUsagePath = "/_depot/v1/usage";
inline constexpr uint64_t kUsageBodyLimit = 4 << 20;  // a usage report's body, at most

// "Date:" value, formatted once per second per thread.
const std::string& date_now();
std::string_view header_or_empty(const http::request<http::empty_body>& req, http::field f);

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket s, SessionContext& srv)
      : sock_(std::move(s)),
        timer_(sock_.get_executor()),
        srv_(srv),
        progress_(srv.opts.send_timeout, srv.opts.min_send_rate) {}
  ~Session() { srv_.metrics.open_connections--; }

  void start();

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

  // --- http_session.cc: the connection and its requests ---
  // Bytes the client has taken: written to the socket minus still queued in it.
  uint64_t taken() const;
  void watchdog();
  // While the session waits, a readable socket means the client went away (EOF or reset) or
  // pipelined its next request (kept in buf_ for the parser, up to a limit).
  void watch_client();
  void on_client_readable();
  // The client left while waiting: drop its claim on the upstream download, log, close.
  void client_gone();
  void close();
  void read_request();
  // The header arrived: the node API takes its requests; others read their body (refused
  // unless empty) and go on to on_read.
  void on_header(beast::error_code ec);
  void on_read(beast::error_code ec);
  // Resets the per-request state: the clock of the access log, the answer, the bytes sent.
  void begin_request();
  // Records the request line and the headers the answer and the access log use.
  void note_request();
  void handle();
  // The authorities naming this server (proxy_target.h), for absolute-form targets.
  std::vector<std::string> self_names();
  static RequestFraming framing_of(const http::request<http::empty_body>& req);
  void done_response();
  // Metrics and the access log line of the request just answered (or abandoned).
  void record_request();

  // --- http_session_send.cc: answers ---
  void base_headers(http::response_header<>& h, int status);
  void cache_headers(http::response_header<>& h);
  void send_error(int status, std::string text,
                  std::initializer_list<std::pair<const char*, const char*>> extra = {});
  void write_small();
  void respond(Answer a);
  void respond_file();
  // Status line, Content-Range, Content-Type and Accept-Ranges of a file answer, and the byte
  // span [offset_, end_) to send. False when the Range is unsatisfiable: small_ then holds a
  // complete 416.
  bool start_ranged_answer(const http::request<http::empty_body>& req, const Validators& v);
  static bool plain_request(const http::request<http::empty_body>& req);
  // A whole file from the open-file cache: the header is its pre-rendered fields plus the
  // status line, Date and Connection; a small body goes out in the same write.
  void respond_prepared();
  // A body still downloading. A single Range is honoured (a resuming client waits for the bytes
  // it asked for); conditional headers are not evaluated against a body that is not complete.
  void respond_stream();
  void write_head_then_body();
  // Sends [offset_, end_) of body_fd_ with sendfile; a streaming answer waits for the bytes
  // its download may release, and is cut short when the download fails.
  void send_body();

  // --- http_session_node.cc: the storage node API ---
  void handle_node();
  NodeRequest node_request() const;
  // A PUT of a file: checked and reserved by NodeApi, then its body streamed into upload_ (or,
  // refused, dropped).
  void start_upload(const NodeRequest& request);
  void read_body();
  void on_body(beast::error_code ec);
  // The client left or broke off its body: the upload is dropped, the request logged as 499.
  void client_aborted_upload();
  void finish_upload();
  void send_node_reply(NodeReply reply);

  // --- http_session_usage.cc: clients' usage reports ---
  bool is_usage_report() const;
  void start_usage_report();
  void on_usage_report(beast::error_code ec);

  tcp::socket sock_;
  asio::steady_timer timer_;
  SessionContext& srv_;
  beast::flat_buffer buf_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  std::string remote_, method_, target_, user_agent_, referer_;
  std::vector<std::string> self_;  // self_names(), computed at the first absolute-form target
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
  // An upload in progress: the request's parser, moved over once the header was read, and the
  // node store's upload (dropped, with its temporary file, when the connection closes).
  std::optional<http::request_parser<http::buffer_body>> body_parser_;
  std::unique_ptr<NodeUpload> upload_;
  std::optional<NodeReply> refused_;  // a refused upload's answer, sent once its body is read
  std::vector<char> upload_buf_;
  std::optional<http::request_parser<http::string_body>> usage_parser_;  // a usage report's
};

}  // namespace depot::session_detail

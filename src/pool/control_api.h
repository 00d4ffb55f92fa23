#pragma once
// The daemon's control API: HTTP/1.1 with JSON bodies over a unix socket. control_call is the
// client the `depot repo` commands use. Boost headers stay in control_api.cc.
//
// ControlServer serves every connection on one event-loop thread (the caller of run()) and runs
// handlers on a small fixed pool of threads; a handler answers through its ControlReply, at once
// or later, so a request waiting for a job holds no thread. Limits (ControlServerOptions):
//   connections  at max_connections, a new connection closes the connection that has been
//                waiting longest for a request; when every connection has a request in
//                progress, the new one is answered 503 and closed;
//   idle         a connection that sends no complete request within idle_timeout (a first
//                request, or the next one on a keep-alive connection) is closed; so is one that
//                does not read its answer within idle_timeout;
//   bodies       a Content-Length over max_body is answered 413 before the body is read, and a
//                chunked body is cut there; request bodies held in memory at once are capped at
//                body_budget bytes: a request over it waits, unread, for earlier ones to finish.
// An accept error (EMFILE, ENFILE, ENOBUFS...) is logged and accepting resumes after a pause.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/logger.h"
#include "core/result.h"

namespace depot::pool {

struct ControlRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // "/repos/stable/import"
  std::string body;    // JSON text, may be empty
};

struct ControlResponse {
  int status = 200;
  std::string body;  // JSON text
};

// Answers one request. Call it once, from any thread (later calls are ignored); dropping every
// copy unanswered answers 500. Cheap: it hands the response to the event loop.
using ControlReply = std::function<void(ControlResponse)>;
// Runs on a handler thread, concurrently with other requests; must be thread-safe and must not
// block for long: to wait, keep `reply` and call it when done. An exception answers 500.
using ControlHandler = std::function<void(const ControlRequest&, ControlReply)>;

struct ControlServerOptions {
  size_t max_connections = 256;
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(60);
  uint64_t max_body = 16ull << 20;     // fits the file list of an import of ~60k packages
  uint64_t body_budget = 32ull << 20;  // raised to max_body if lower
  unsigned handler_threads = 2;        // at least 1
};

class ControlServer {
 public:
  // Listens on `socket`. The socket is bound in a private directory beside it, given mode 0660
  // and moved into place, so the path never exists with another mode. A socket file left by a
  // dead daemon is replaced; one a live daemon answers on is kRefused ("another daemon is
  // running"); any other file is kRefused.
  static Result<std::unique_ptr<ControlServer>> listen(const std::filesystem::path& socket,
                                                       ControlHandler handler, Logger& logger,
                                                       const ControlServerOptions& options = {});
  // stop(), then waits for running handlers; removes the socket file if it is still this
  // server's. run() must have returned.
  ~ControlServer();

  // Runs the event loop until stop(); blocks. Exceptions from the loop are logged, not thrown.
  void run();
  // Thread-safe, also from a signal-handling thread: stops accepting, closes connections that
  // are between requests, answers 503 to requests still waiting for their handler, lets
  // answers being written finish (at most 2 s), then run() returns.
  void stop();

  struct Impl;

 private:
  explicit ControlServer(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

// One request to the daemon at `socket`. Connection failures are kNetwork errors naming the
// socket ("is the daemon running?"); any HTTP status is returned as a response.
Result<ControlResponse> control_call(const std::filesystem::path& socket, std::string_view method,
                                     std::string_view target, std::string_view body,
                                     std::chrono::milliseconds timeout = std::chrono::hours(1));

}  // namespace depot::pool

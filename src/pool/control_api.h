#pragma once
// The daemon's control API: HTTP/1.1 with JSON bodies over a unix socket. ControlServer answers
// each connection on its own thread with a caller-given handler (the API is low-volume and a
// handler may wait for a job); control_call is the client the `depot repo` commands use.
// Boost headers stay in control_api.cc.

#include <chrono>
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

// Called concurrently from connection threads; must be thread-safe.
using ControlHandler = std::function<ControlResponse(const ControlRequest&)>;

class ControlServer {
 public:
  // Listens on `socket`. The socket is bound in a private directory beside it, given mode 0660
  // and moved into place, so the path never exists with another mode. A socket file left by a
  // dead daemon is replaced; one a live daemon answers on is kRefused ("another daemon is
  // running"); any other file is kRefused.
  static Result<std::unique_ptr<ControlServer>> listen(const std::filesystem::path& socket,
                                                       ControlHandler handler, Logger& logger);
  // Stops, joins every connection thread, removes the socket file if it is still this server's.
  ~ControlServer();

  // Accepts until stop(); blocks. Request bodies over 16 MiB get 413.
  void run();
  // Thread-safe; also safe from a signal-handling thread.
  void stop();

  struct Impl;

 private:
  explicit ControlServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// One request to the daemon at `socket`. Connection failures are kNetwork errors naming the
// socket ("is the daemon running?"); any HTTP status is returned as a response.
Result<ControlResponse> control_call(const std::filesystem::path& socket, std::string_view method,
                                     std::string_view target, std::string_view body,
                                     std::chrono::milliseconds timeout = std::chrono::hours(1));

}  // namespace depot::pool

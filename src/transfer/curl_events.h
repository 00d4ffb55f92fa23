#pragma once
// Drives a libcurl multi handle through its socket interface on an epoll set: a wait costs
// O(sockets with events), where curl_multi_poll costs O(all connections) per call (hundreds
// of connections to a distant mirror made that the bottleneck). Not thread-safe; one per
// multi handle, used on the thread that drives it.

#include <chrono>
#include <optional>

#include "core/result.h"

namespace depot {

class CurlEvents {
 public:
  // `multi` is a CURLM*; its socket and timer callbacks are installed here and cleared by the
  // destructor, which must run before the multi handle is cleaned up.
  explicit CurlEvents(void* multi);
  ~CurlEvents();
  CurlEvents(const CurlEvents&) = delete;
  CurlEvents& operator=(const CurlEvents&) = delete;

  // The error of creating the epoll set, if that failed.
  Status status() const { return status_; }
  // Waits up to `max_wait` for socket activity or libcurl's own timer, whichever comes first,
  // then lets libcurl act on the sockets that are ready and on its timer if due. Finished
  // transfers are then read with curl_multi_info_read.
  void wait_and_act(std::chrono::milliseconds max_wait);

  // libcurl callbacks.
  static int on_socket(void* easy, int fd, int what, void* self, void* socketp);
  static int on_timer(void* multi, long timeout_ms, void* self);

 private:
  void act_on_timeout();

  void* multi_;
  int epoll_fd_ = -1;
  Status status_;
  // When libcurl wants CURL_SOCKET_TIMEOUT handled; none: no timer set.
  std::optional<std::chrono::steady_clock::time_point> deadline_;
};

}  // namespace depot

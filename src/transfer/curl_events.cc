#include "transfer/curl_events.h"

#include <curl/curl.h>
#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstring>

namespace depot {
namespace {

using Clk = std::chrono::steady_clock;

// libcurl's socketp for a socket in the epoll set (any non-null pointer would do).
char kRegistered;

uint32_t epoll_mask(int what) {
  uint32_t mask = 0;
  if (what & CURL_POLL_IN) mask |= EPOLLIN;
  if (what & CURL_POLL_OUT) mask |= EPOLLOUT;
  return mask;
}

}  // namespace

CurlEvents::CurlEvents(void* multi) : multi_(multi) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) {
    status_ =
        make_error(ErrorCode::kInternal, std::string("epoll_create1: ") + std::strerror(errno));
    return;
  }
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlEvents::on_socket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlEvents::on_timer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
}

CurlEvents::~CurlEvents() {
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, nullptr);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, nullptr);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, nullptr);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, nullptr);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

int CurlEvents::on_socket(void* /*easy*/, int fd, int what, void* self, void* socketp) {
  auto* ev = static_cast<CurlEvents*>(self);
  if (what == CURL_POLL_REMOVE) {
    // The socket may be closed already; a failed removal changes nothing then.
    (void)::epoll_ctl(ev->epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    curl_multi_assign(ev->multi_, fd, nullptr);
    return 0;
  }
  epoll_event e{};
  e.events = epoll_mask(what);
  e.data.fd = fd;
  if (socketp != nullptr && ::epoll_ctl(ev->epoll_fd_, EPOLL_CTL_MOD, fd, &e) == 0) return 0;
  if (::epoll_ctl(ev->epoll_fd_, EPOLL_CTL_ADD, fd, &e) != 0 && errno == EEXIST) {
    (void)::epoll_ctl(ev->epoll_fd_, EPOLL_CTL_MOD, fd, &e);
  }
  curl_multi_assign(ev->multi_, fd, &kRegistered);
  return 0;
}

int CurlEvents::on_timer(void* /*multi*/, long timeout_ms, void* self) {
  auto* ev = static_cast<CurlEvents*>(self);
  if (timeout_ms < 0) {
    ev->deadline_.reset();
  } else {
    ev->deadline_ = Clk::now() + std::chrono::milliseconds(timeout_ms);
  }
  return 0;
}

void CurlEvents::act_on_timeout() {
  deadline_.reset();  // single-shot; libcurl sets the next one through on_timer
  int running = 0;
  curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
}

void CurlEvents::wait_and_act(std::chrono::milliseconds max_wait) {
  if (epoll_fd_ < 0) return;
  Clk::time_point now = Clk::now();
  Clk::duration wait = max_wait;
  if (deadline_) wait = std::min(wait, *deadline_ - now);
  int timeout_ms = 0;
  if (wait > Clk::duration::zero()) {
    timeout_ms =
        static_cast<int>(std::ceil(std::chrono::duration<double, std::milli>(wait).count()));
  }
  std::array<epoll_event, 256> events;
  int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), timeout_ms);
  for (int i = 0; i < n; ++i) {
    int flags = 0;
    if (events[i].events & EPOLLIN) flags |= CURL_CSELECT_IN;
    if (events[i].events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
    if (events[i].events & (EPOLLERR | EPOLLHUP)) flags |= CURL_CSELECT_ERR;
    int running = 0;
    curl_multi_socket_action(multi_, events[i].data.fd, flags, &running);
  }
  if (deadline_ && *deadline_ <= Clk::now()) act_on_timeout();
}

}  // namespace depot

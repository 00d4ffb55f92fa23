#pragma once
// A scripted HTTP/1.1 server on 127.0.0.1 (port 0) for tests: replies per path, keep-alive,
// truncation, stalls and delays; records what it saw. Thread-safe.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>
#include <gtest/gtest.h>

#include <chrono>
#include <optional>

namespace depot::testing {


using std::chrono::milliseconds;
using Clk = std::chrono::steady_clock;

struct Reply {
  Reply() = default;
  Reply(int s, std::string b, std::vector<std::string> h = {})
      : status(s), body(std::move(b)), headers(std::move(h)) {}
  int status = 200;
  std::string body;
  std::vector<std::string> headers;       // "Name: value"
  size_t send_limit = std::string::npos;  // body bytes actually sent, then close
  milliseconds delay{0};                  // before the response
  milliseconds stall{0};                  // after the first half of the body
};

struct Seen {
  Clk::time_point at;
  std::map<std::string, std::string> headers;  // lower-case names
};

// A loopback port nothing listens on (bound, then released): connections to it are refused.
inline int unused_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), len), 0);
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Serves scripted replies per path: the n-th request of a path gets script[min(n, size-1)].
// One thread per connection, keep-alive. Unknown paths get 404.
class TestServer {
 public:
  TestServer() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(listen_fd_, 128) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "cannot listen on 127.0.0.1";
    }
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }

  ~TestServer() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    }
    cv_.notify_all();
    ::shutdown(listen_fd_, SHUT_RDWR);
    acceptor_.join();
    ::close(listen_fd_);
    for (auto& t : workers_) t.join();
  }

  void route(const std::string& path, std::vector<Reply> script) {
    std::lock_guard lock(mu_);
    routes_[path] = std::move(script);
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::vector<Seen> requests(const std::string& path) {
    std::lock_guard lock(mu_);
    return seen_[path];
  }
  int hits(const std::string& path) { return static_cast<int>(requests(path).size()); }
  int connections() {
    std::lock_guard lock(mu_);
    return connections_;
  }
  int max_in_flight() {
    std::lock_guard lock(mu_);
    return max_in_flight_;
  }

 private:
  void accept_loop() {
    for (;;) {
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      std::lock_guard lock(mu_);
      if (stopping_) {
        ::close(fd);
        return;
      }
      ++connections_;
      open_fds_.push_back(fd);
      workers_.emplace_back([this, fd] { serve(fd); });
    }
  }

  // Sleeps unless the server stops first; false when stopping.
  bool pause(milliseconds d) {
    std::unique_lock lock(mu_);
    return !cv_.wait_for(lock, d, [this] { return stopping_; });
  }

  static bool send_all(int fd, std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  void serve(int fd) {
    std::string buf;
    char chunk[4096];
    for (;;) {
      size_t end;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
        ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) return finish(fd);
        buf.append(chunk, static_cast<size_t>(n));
      }
      std::string head = buf.substr(0, end);
      buf.erase(0, end + 4);
      size_t sp1 = head.find(' '), sp2 = head.find(' ', sp1 + 1);
      std::string path = head.substr(sp1 + 1, sp2 - sp1 - 1);
      Seen seen{Clk::now(), {}};
      for (size_t pos = head.find("\r\n"); pos != std::string::npos;) {
        size_t next = head.find("\r\n", pos + 2);
        std::string line = head.substr(pos + 2, next == std::string::npos ? next : next - pos - 2);
        size_t colon = line.find(':');
        std::string name = line.substr(0, colon);
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        seen.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
        pos = next;
      }
      Reply r;
      {
        std::lock_guard lock(mu_);
        auto& script = routes_[path];
        size_t n = seen_[path].size();
        r = script.empty() ? Reply{404, "no such file", {}}
                           : script[std::min(n, script.size() - 1)];
        seen_[path].push_back(std::move(seen));
        max_in_flight_ = std::max(max_in_flight_, ++in_flight_);
      }
      bool alive = respond(fd, r);
      {
        std::lock_guard lock(mu_);
        --in_flight_;
      }
      if (!alive) return finish(fd);
    }
  }

  bool respond(int fd, const Reply& r) {
    if (r.delay.count() > 0 && !pause(r.delay)) return false;
    std::string head = "HTTP/1.1 " + std::to_string(r.status) + " X\r\n";
    if (r.status != 304) {
      head += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
    }
    for (const auto& h : r.headers) head += h + "\r\n";
    head += "\r\n";
    std::string_view body = std::string_view(r.body).substr(0, r.send_limit);
    if (r.stall.count() > 0) {
      if (!send_all(fd, head + std::string(body.substr(0, body.size() / 2)))) return false;
      if (!pause(r.stall)) return false;
      return send_all(fd, body.substr(body.size() / 2)) && r.send_limit == std::string::npos;
    }
    return send_all(fd, head + std::string(body)) && r.send_limit == std::string::npos;
  }

  void finish(int fd) {
    std::lock_guard lock(mu_);
    std::erase(open_fds_, fd);
    ::close(fd);
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
  std::vector<int> open_fds_;
  std::map<std::string, std::vector<Reply>> routes_;
  std::map<std::string, std::vector<Seen>> seen_;
  int connections_ = 0;
  int in_flight_ = 0;
  int max_in_flight_ = 0;
};

}  // namespace depot::testing

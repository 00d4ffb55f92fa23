#include "pool/control_api.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>

#include "support/temp_dir.h"

namespace depot::pool {
namespace {

namespace fs = std::filesystem;
using depot::testing::TempDir;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

constexpr auto kGuard = 30s;  // turns a hang into a failure

int threads_of_this_process() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("Threads:")) return std::stoi(line.substr(8));
  }
  return -1;
}

int connect_to(const fs::path& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// Everything the peer sends until it closes (or `limit` passes); sets `closed`.
std::string read_until_closed(int fd, std::chrono::milliseconds limit, bool* closed = nullptr) {
  std::string out;
  auto deadline = SteadyClock::now() + limit;
  for (;;) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[65536];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      if (closed) *closed = true;
      return out;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  if (closed) *closed = false;
  return out;
}

// Answers /status and /echo at once, throws for /boom, drops /drop unanswered, and keeps the
// reply of /hold (and /block, after blocking its thread until release()) for answer_held().
class TestHandler {
 public:
  void operator()(const ControlRequest& r, ControlReply reply) {
    calls_++;
    if (r.target == "/status") return reply({200, R"({"ok":true})"});
    if (r.target == "/boom") throw std::runtime_error("boom");
    if (r.target == "/drop") return;
    if (r.target == "/hold" || r.target == "/block") {
      std::unique_lock lk(mu_);
      held_.push_back(std::move(reply));
      cv_.notify_all();
      if (r.target == "/block") cv_.wait_for(lk, kGuard, [&] { return released_; });
      return;
    }
    reply({201, r.method + " " + r.target + " " + r.body});
  }
  bool wait_held(size_t n) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, kGuard, [&] { return held_.size() >= n; });
  }
  void answer_held(int status) {
    std::vector<ControlReply> held;
    {
      std::lock_guard lk(mu_);
      held.swap(held_);
    }
    for (auto& r : held) r({status, R"({"held":true})"});
  }
  void release() {
    std::lock_guard lk(mu_);
    released_ = true;
    cv_.notify_all();
  }
  int calls() const { return calls_; }

 private:
  std::atomic<int> calls_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ControlReply> held_;
  bool released_ = false;
};

void answer_ok(const ControlRequest&, ControlReply reply) { reply({200, "{}"}); }

class ControlApiTest : public ::testing::Test {
 protected:
  void start(ControlServerOptions options = {}) {
    auto s = ControlServer::listen(
        sock_,
        [this](const ControlRequest& r, ControlReply reply) { handler_(r, std::move(reply)); },
        *logger_, options);
    ASSERT_TRUE(s.ok()) << s.error().to_string();
    server_ = std::move(*s);
    thread_ = std::thread([this] { server_->run(); });
  }
  void TearDown() override {
    handler_.release();
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
    for (int fd : fds_) ::close(fd);
    fds_.clear();
  }
  int open_connection() {
    int fd = connect_to(sock_);
    EXPECT_GE(fd, 0) << std::strerror(errno);
    if (fd >= 0) fds_.push_back(fd);
    return fd;
  }
  // Status code of the answer to one request on a new connection.
  int status_of(const std::string& target) {
    auto r = control_call(sock_, "GET", target, "", 10s);
    EXPECT_TRUE(r.ok()) << r.error().to_string();
    return r.ok() ? r->status : -1;
  }

  TempDir dir_;
  fs::path sock_ = dir_.path() / "depot.sock";
  std::unique_ptr<Logger> logger_ = std::make_unique<Logger>(LogLevel::kError);
  TestHandler handler_;
  std::unique_ptr<ControlServer> server_;
  std::thread thread_;
  std::vector<int> fds_;
};

TEST_F(ControlApiTest, AnswersRequestsOverTheUnixSocket) {
  start();
  auto r = control_call(sock_, "POST", "/repos/stable/import", R"({"files":["a.deb"]})");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, R"(POST /repos/stable/import {"files":["a.deb"]})");
  EXPECT_EQ(status_of("/boom"), 500);  // the handler threw
  EXPECT_EQ(status_of("/drop"), 500);  // the handler dropped its reply
}

TEST_F(ControlApiTest, KeepAliveConnectionsServeSeveralRequests) {
  start();
  int fd = open_connection();
  send_all(fd, "GET /status HTTP/1.1\r\nHost: d\r\n\r\nGET /status HTTP/1.1\r\nHost: d\r\n\r\n");
  std::string got;
  auto deadline = SteadyClock::now() + 5s;
  while (got.find("HTTP/1.1 200", got.find("HTTP/1.1 200") + 1) == std::string::npos &&
         SteadyClock::now() < deadline) {
    got += read_until_closed(fd, 100ms);
  }
  EXPECT_EQ(got.find("HTTP/1.1 200"), 0u) << got;
  EXPECT_NE(got.find("HTTP/1.1 200", 1), std::string::npos) << got;
}

TEST_F(ControlApiTest, WaitingRequestsHoldNoHandlerThread) {
  ControlServerOptions o;
  o.handler_threads = 1;
  start(o);
  std::vector<std::thread> clients;
  std::atomic<int> answered{0};
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&] {
      auto r = control_call(sock_, "POST", "/hold", "{}", kGuard);
      if (r.ok() && r->status == 202) answered++;
    });
  }
  ASSERT_TRUE(handler_.wait_held(8));
  EXPECT_EQ(status_of("/status"), 200);  // the one handler thread is free
  handler_.answer_held(202);
  for (auto& t : clients) t.join();
  EXPECT_EQ(answered, 8);
}

TEST_F(ControlApiTest, IdleConnectionsHoldNoThreads) {
  start();
  ASSERT_EQ(status_of("/status"), 200);
  const int before = threads_of_this_process();
  for (int i = 0; i < 300; ++i) ASSERT_GE(open_connection(), 0);
  EXPECT_EQ(status_of("/status"), 200);  // answered after every accept
  EXPECT_LE(threads_of_this_process(), before);
}

TEST_F(ControlApiTest, IdleConnectionsAreClosedAfterTheIdleTimeout) {
  ControlServerOptions o;
  o.idle_timeout = 300ms;
  start(o);
  int silent = open_connection();
  int half_header = open_connection();
  send_all(half_header, "GET /status HTTP/1.1\r\nHost: d");
  int half_body = open_connection();
  send_all(half_body, "POST /echo HTTP/1.1\r\nHost: d\r\nContent-Length: 10\r\n\r\n12345");
  int kept_alive = open_connection();
  send_all(kept_alive, "GET /status HTTP/1.1\r\nHost: d\r\n\r\n");
  auto start_time = SteadyClock::now();
  for (int fd : {silent, half_header, half_body, kept_alive}) {
    bool closed = false;
    std::string got = read_until_closed(fd, 5s, &closed);
    EXPECT_TRUE(closed) << fd;
    EXPECT_EQ(got.empty(), fd != kept_alive) << got;
  }
  EXPECT_GE(SteadyClock::now() - start_time, 250ms);
  EXPECT_EQ(status_of("/status"), 200);
}

TEST_F(ControlApiTest, AtTheCapTheLongestIdleConnectionMakesRoom) {
  ControlServerOptions o;
  o.max_connections = 3;
  start(o);
  int a = open_connection();
  std::this_thread::sleep_for(20ms);
  int b = open_connection();
  int c = open_connection();
  ASSERT_EQ(status_of("/status"), 200);  // a fourth connection closes `a`
  bool closed = false;
  read_until_closed(a, 5s, &closed);
  EXPECT_TRUE(closed);
  for (int fd : {b, c}) {
    read_until_closed(fd, 50ms, &closed);
    EXPECT_FALSE(closed);
  }
}

TEST_F(ControlApiTest, AtTheCapWithEveryConnectionBusyNewOnesGet503) {
  ControlServerOptions o;
  o.max_connections = 2;
  start(o);
  std::vector<std::thread> clients;
  for (int i = 0; i < 2; ++i) {
    clients.emplace_back([&] { (void)control_call(sock_, "GET", "/hold", "", kGuard); });
  }
  ASSERT_TRUE(handler_.wait_held(2));
  auto busy = control_call(sock_, "GET", "/status", "", 10s);
  ASSERT_TRUE(busy.ok()) << busy.error().to_string();
  EXPECT_EQ(busy->status, 503);
  EXPECT_EQ(busy->body, R"({"error":"too many control connections are busy"})");
  handler_.answer_held(200);
  for (auto& t : clients) t.join();
  EXPECT_EQ(status_of("/status"), 200);
}

TEST_F(ControlApiTest, OversizedBodiesAre413BeforeTheyAreRead) {
  ControlServerOptions o;
  o.max_body = 1000;
  start(o);
  int fd = open_connection();
  send_all(fd, "POST /echo HTTP/1.1\r\nHost: d\r\nContent-Length: 5000\r\n\r\n");
  std::string got = read_until_closed(fd, 5s);
  EXPECT_EQ(got.find("HTTP/1.1 413"), 0u) << got;

  int chunked = open_connection();
  send_all(chunked, "POST /echo HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n");
  std::string chunk = "400\r\n" + std::string(0x400, 'x') + "\r\n";
  send_all(chunked, chunk);
  got = read_until_closed(chunked, 5s);
  EXPECT_EQ(got.find("HTTP/1.1 413"), 0u) << got;
  EXPECT_EQ(handler_.calls(), 0);
}

TEST_F(ControlApiTest, TheBodyBudgetHoldsLaterBodiesBack) {
  ControlServerOptions o;
  o.max_body = 1000;
  o.body_budget = 1000;
  start(o);
  std::string body(800, 'b');
  std::thread first([&] { (void)control_call(sock_, "POST", "/block", body, kGuard); });
  ASSERT_TRUE(handler_.wait_held(1));  // its handler holds 800 bytes of budget
  std::atomic<int> second_status{0};
  std::thread second([&] {
    auto r = control_call(sock_, "POST", "/echo", body, kGuard);
    second_status = r.ok() ? r->status : -1;
  });
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(handler_.calls(), 1);  // the second body waits, unread
  EXPECT_EQ(second_status, 0);
  handler_.release();
  handler_.answer_held(200);
  first.join();
  second.join();
  EXPECT_EQ(second_status, 201);
}

TEST_F(ControlApiTest, StopAnswers503ToRequestsStillWaiting) {
  start();
  std::atomic<int> status{0};
  std::thread client([&] {
    auto r = control_call(sock_, "POST", "/hold", "{}", kGuard);
    status = r.ok() ? r->status : -1;
  });
  ASSERT_TRUE(handler_.wait_held(1));
  server_->stop();
  thread_.join();
  client.join();
  EXPECT_EQ(status, 503);
  server_.reset();
  EXPECT_FALSE(fs::exists(sock_));
}

// Accepting with no file descriptor left fails (EMFILE); the server pauses and retries, neither
// dying nor spinning, and serves the connection once descriptors are free again.
TEST_F(ControlApiTest, AcceptErrorsArePausedAndRetried) {
#if defined(__SANITIZE_ADDRESS__)
  // UBSan's vptr check opens a pipe to probe memory; with no descriptor left it reports
  // false errors.
  GTEST_SKIP() << "needs every file descriptor; not under the sanitizers";
#endif
  std::FILE* log = std::tmpfile();
  ASSERT_NE(log, nullptr);
  logger_ = std::make_unique<Logger>(LogLevel::kWarn, LogFormat::kText, log);
  start();
  ASSERT_EQ(status_of("/status"), 200);
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &old), 0);
  std::vector<int> filler;
  for (int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC); fd >= 0;
       fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) {
    filler.push_back(fd);
    if (filler.size() == 1) {
      rlimit low = old;
      low.rlim_cur = static_cast<rlim_t>(fd + 16);
      ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
    }
  }
  ::close(filler.back());  // room for the client's socket only
  filler.pop_back();
  int client = connect_to(sock_);
  ASSERT_GE(client, 0);
  send_all(client, "GET /status HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n");
  std::this_thread::sleep_for(1s);  // the server cannot accept it meanwhile
  for (int fd : filler) ::close(fd);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &old), 0);
  std::string got = read_until_closed(client, 5s);
  ::close(client);
  EXPECT_EQ(got.find("HTTP/1.1 200"), 0u) << got;
  std::fflush(log);
  std::rewind(log);
  std::vector<int64_t> failed_at;  // milliseconds of the day
  std::string lines;
  for (char line[512]; std::fgets(line, sizeof line, log);) {
    if (std::strstr(line, "control_accept_failed") == nullptr || std::strlen(line) < 23) continue;
    lines += line;
    int h = 0, m = 0, sec = 0, ms = 0;
    std::sscanf(line + 11, "%d:%d:%d.%d", &h, &m, &sec, &ms);
    failed_at.push_back(((h * 60 + m) * 60 + sec) * 1000 + ms);
  }
  std::fclose(log);
  EXPECT_GE(failed_at.size(), 1u);   // it hit the limit...
  EXPECT_LE(failed_at.size(), 20u);  // ...and retried after a pause each time (100 ms)
  for (size_t i = 1; i < failed_at.size(); ++i) {
    EXPECT_GE(failed_at[i] - failed_at[i - 1], 90) << lines;
  }
  TearDown();
  logger_ = std::make_unique<Logger>(LogLevel::kError);
}

TEST_F(ControlApiTest, ASecondDaemonOnALiveSocketIsRefused) {
  start();
  auto second = ControlServer::listen(sock_, answer_ok, *logger_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::kRefused);
  EXPECT_EQ(status_of("/status"), 200);  // the first one still answers
}

TEST_F(ControlApiTest, AStaleSocketIsReplacedButOtherFilesAreNot) {
  {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", sock_.c_str());
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::close(fd);  // the file stays: a daemon that died
  }
  start();
  EXPECT_EQ(status_of("/status"), 200);
  TearDown();
  EXPECT_FALSE(fs::exists(sock_));  // removed at shutdown

  std::ofstream(sock_) << "not a socket";
  auto r = ControlServer::listen(sock_, answer_ok, *logger_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kRefused);
}

// The socket never exists at its path with another mode: it is moved into place finished, not
// created there and chmodded afterwards.
TEST_F(ControlApiTest, TheSocketAppearsWithItsFinalMode) {
  int fd = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  ASSERT_GE(fd, 0);
  ASSERT_GE(::inotify_add_watch(fd, dir_.path().c_str(), IN_CREATE | IN_ATTRIB | IN_MOVED_TO), 0);
  start();
  alignas(inotify_event) char buf[4096];
  std::vector<std::string> events;
  for (ssize_t n = ::read(fd, buf, sizeof buf); n > 0; n = ::read(fd, buf, sizeof buf)) {
    for (ssize_t off = 0; off < n;) {
      auto* ev = reinterpret_cast<inotify_event*>(buf + off);
      std::string name = ev->len > 0 ? ev->name : "";
      if (name == sock_.filename().string()) {
        events.push_back(ev->mask & IN_CREATE   ? "create"
                         : ev->mask & IN_ATTRIB ? "attrib"
                                                : "moved_to");
      }
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
    }
  }
  ::close(fd);
  EXPECT_EQ(events, std::vector<std::string>{"moved_to"});
  struct stat st {};
  ASSERT_EQ(::lstat(sock_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  size_t entries = 0;
  for (const auto& e : fs::directory_iterator(dir_.path())) entries += !e.path().empty();
  EXPECT_EQ(entries, 1u);  // no temporary directory left beside it
}

TEST_F(ControlApiTest, NoDaemonIsAClearNetworkError) {
  auto r = control_call(sock_, "GET", "/status", "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kNetwork);
  EXPECT_NE(r.error().message.find("is the daemon running"), std::string::npos);
}

}  // namespace
}  // namespace depot::pool

#include "pool/control_api.h"

#include <gtest/gtest.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "support/temp_dir.h"

namespace depot::pool {
namespace {

namespace fs = std::filesystem;
using depot::testing::TempDir;

ControlResponse echo(const ControlRequest& r) {
  if (r.target == "/status") return {200, R"({"ok":true})"};
  if (r.target == "/boom") throw std::runtime_error("boom");
  return {201, r.method + " " + r.target + " " + r.body};
}

class ControlApiTest : public ::testing::Test {
 protected:
  void start() {
    auto s = ControlServer::listen(sock_, echo, logger_);
    ASSERT_TRUE(s.ok()) << s.error().to_string();
    server_ = std::move(*s);
    thread_ = std::thread([this] { server_->run(); });
  }
  void TearDown() override {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
  }
  TempDir dir_;
  fs::path sock_ = dir_.path() / "depot.sock";
  Logger logger_{LogLevel::kError};
  std::unique_ptr<ControlServer> server_;
  std::thread thread_;
};

TEST_F(ControlApiTest, AnswersRequestsOverTheUnixSocket) {
  start();
  struct stat st {};
  ASSERT_EQ(::stat(sock_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  auto r = control_call(sock_, "POST", "/repos/stable/import", R"({"files":["a.deb"]})");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, R"(POST /repos/stable/import {"files":["a.deb"]})");
  auto failed = control_call(sock_, "GET", "/boom", "");
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->status, 500);
}

TEST_F(ControlApiTest, ASecondDaemonOnALiveSocketIsRefused) {
  start();
  auto second = ControlServer::listen(sock_, echo, logger_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::kRefused);
  EXPECT_TRUE(control_call(sock_, "GET", "/status", "").ok());  // the first one still answers
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
  EXPECT_TRUE(control_call(sock_, "GET", "/status", "").ok());
  TearDown();
  EXPECT_FALSE(fs::exists(sock_));  // removed at shutdown

  std::ofstream(sock_) << "not a socket";
  auto r = ControlServer::listen(sock_, echo, logger_);
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

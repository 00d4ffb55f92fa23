#include "site/systemd_notify.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "core/unique_fd.h"
#include "support/temp_dir.h"

namespace depot::site {
namespace {

// A datagram socket bound in a temporary directory and named by NOTIFY_SOCKET for the test.
class NotifySocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (dir_.path() / "notify").string();
    sock_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(sock_.valid());
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    ASSERT_LT(path_.size(), sizeof(addr.sun_path));
    path_.copy(addr.sun_path, path_.size());
    ASSERT_EQ(::bind(sock_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ::setenv("NOTIFY_SOCKET", path_.c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
    ::unsetenv("WATCHDOG_PID");
  }

  // The next datagram, or "" after `wait_ms` without one.
  std::string receive(int wait_ms = 1000) {
    pollfd p{sock_.get(), POLLIN, 0};
    if (::poll(&p, 1, wait_ms) != 1) return "";
    char buf[4096];
    ssize_t n = ::recv(sock_.get(), buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }

  testing::TempDir dir_;
  std::string path_;
  UniqueFd sock_;
};

TEST_F(NotifySocketTest, SendsEachStateAsOneDatagram) {
  ASSERT_TRUE(systemd::ready().ok());
  EXPECT_EQ(receive(), "READY=1");
  ASSERT_TRUE(systemd::status("mirrors: 3 ok\n1 failing").ok());
  EXPECT_EQ(receive(), "STATUS=mirrors: 3 ok 1 failing");
  ASSERT_TRUE(systemd::watchdog().ok());
  EXPECT_EQ(receive(), "WATCHDOG=1");
  ASSERT_TRUE(systemd::stopping().ok());
  EXPECT_EQ(receive(), "STOPPING=1");
}

TEST_F(NotifySocketTest, ReloadingCarriesTheMonotonicClock) {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t before = static_cast<uint64_t>(ts.tv_sec) * 1000000u + ts.tv_nsec / 1000;
  ASSERT_TRUE(systemd::reloading().ok());
  std::string got = receive();
  const std::string prefix = "RELOADING=1\nMONOTONIC_USEC=";
  ASSERT_EQ(got.rfind(prefix, 0), 0u) << got;
  uint64_t usec = std::stoull(got.substr(prefix.size()));
  EXPECT_GE(usec, before);
  EXPECT_LT(usec, before + 10'000'000u);
}

TEST_F(NotifySocketTest, AMissingSocketIsAnErrorNamingIt) {
  ::setenv("NOTIFY_SOCKET", (dir_.path() / "gone").c_str(), 1);
  Status st = systemd::ready();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kIo);
  EXPECT_NE(st.error().message.find("NOTIFY_SOCKET "), std::string::npos);
  EXPECT_NE(st.error().message.find("gone: READY:"), std::string::npos) << st.error().message;
}

TEST_F(NotifySocketTest, WithoutNotifySocketEverythingIsANoOp) {
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_TRUE(systemd::ready().ok());
  EXPECT_TRUE(systemd::reloading().ok());
  EXPECT_TRUE(systemd::status("x").ok());
  EXPECT_TRUE(systemd::watchdog().ok());
  EXPECT_TRUE(systemd::stopping().ok());
  EXPECT_EQ(receive(100), "");
}

TEST_F(NotifySocketTest, WatchdogIntervalIsHalfTheTimeoutForThisProcessOnly) {
  EXPECT_EQ(systemd::watchdog_interval().count(), 0);
  ::setenv("WATCHDOG_USEC", "30000000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  EXPECT_EQ(systemd::watchdog_interval(), std::chrono::seconds(15));
  ::setenv("WATCHDOG_PID", std::to_string(::getpid() + 1).c_str(), 1);
  EXPECT_EQ(systemd::watchdog_interval().count(), 0);
  ::unsetenv("WATCHDOG_PID");
  EXPECT_EQ(systemd::watchdog_interval(), std::chrono::seconds(15));
}

}  // namespace
}  // namespace depot::site

#include "site/systemd_notify.h"

#include <systemd/sd-daemon.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

namespace depot::site::systemd {
namespace {

Status notify(const std::string& state) {
  int rc = ::sd_notify(0, state.c_str());
  if (rc >= 0) return ok_status();
  const char* socket = std::getenv("NOTIFY_SOCKET");
  std::string what = state.substr(0, state.find('='));
  return make_error(ErrorCode::kIo, std::string("NOTIFY_SOCKET ") + (socket ? socket : "") + ": " +
                                        what + ": " + std::strerror(-rc));
}

}  // namespace

Status ready() { return notify("READY=1"); }

Status reloading() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t usec =
      static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
  return notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

Status stopping() { return notify("STOPPING=1"); }

Status status(std::string_view text) {
  std::string line(text);
  std::replace_if(
      line.begin(), line.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return notify("STATUS=" + line);
}

Status watchdog() { return notify("WATCHDOG=1"); }

std::chrono::microseconds watchdog_interval() {
  uint64_t usec = 0;
  if (::sd_watchdog_enabled(0, &usec) <= 0) return std::chrono::microseconds(0);
  return std::chrono::microseconds(usec / 2);
}

}  // namespace depot::site::systemd

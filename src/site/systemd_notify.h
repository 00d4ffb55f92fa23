#pragma once
// The service manager's notification protocol (sd_notify, libsystemd) for `depot run` under
// Type=notify: readiness, reloads, shutdown, a status line and watchdog keep-alives. Every call
// is a no-op returning ok when NOTIFY_SOCKET is unset (not started by systemd). Errors are
// kIo "NOTIFY_SOCKET <socket>: <what>: <reason>". Thread-safe (each call sends on its own
// socket; the environment is only read).

#include <chrono>
#include <string_view>

#include "core/result.h"

namespace depot::site::systemd {

// "READY=1": start-up finished, or a reload finished.
Status ready();
// "RELOADING=1" and "MONOTONIC_USEC=<now>" (systemd 253 Type=notify-reload wants both; older
// ones ignore the second). Send ready() when the reload is done.
Status reloading();
// "STOPPING=1": shutdown has begun.
Status stopping();
// "STATUS=<text>" (line breaks become spaces), shown by `systemctl status`.
Status status(std::string_view text);
// "WATCHDOG=1": the keep-alive, due every watchdog_interval().
Status watchdog();

// Half the watchdog timeout the service manager set (WatchdogSec=, through WATCHDOG_USEC and
// WATCHDOG_PID): how often to call watchdog(). Zero when there is no watchdog for this process.
std::chrono::microseconds watchdog_interval();

}  // namespace depot::site::systemd

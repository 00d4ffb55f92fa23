#pragma once
// UpstreamHealth: the circuit breaker of one upstream and the failures remembered per path.
//
// The circuit opens on the upstream's health, never on one path: at once when the host cannot
// be reached at all (DNS, refused, connect timeout, TLS handshake), or when within `window` at
// least `min_paths` distinct paths failed and failures are at least half of the fetches that
// ended there. While it is open nothing is asked upstream (cached copies are served stale)
// until `cooldown` has passed; the next fetch then probes, and a success closes it.
// A failure of one path (an error status, a stall) is remembered for that path only, for
// `path_ttl`, so one bad path cannot shut out the others and is not asked for again meanwhile.
// Thread-safe.

#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"

namespace depot {

struct HealthOptions {
  Duration cooldown = std::chrono::seconds(30);
  Duration window = std::chrono::seconds(30);
  int min_paths = 5;
  Duration path_ttl = std::chrono::seconds(5);
  size_t max_remembered_paths = 10000;  // beyond it, new path failures are not remembered
};

struct PathFailure {
  int status = 502;     // the status the failed fetch answered with (502, 504)
  std::string message;  // names the URL
};

class UpstreamHealth {
 public:
  UpstreamHealth(const HealthOptions& options, Clock& clock);

  bool circuit_open() const;
  // The failure remembered for `path`, while it lasts.
  std::optional<PathFailure> path_failure(std::string_view path) const;

  void on_success(std::string_view path);
  void on_unreachable();
  // `remember`: keep the failure for the path (an error status or a stall: asking again at once
  // would fail the same way); body faults (truncation, wrong bytes) only count for health.
  void on_path_failure(std::string_view path, PathFailure failure, bool remember = true);
  // Forgets path failures whose time is up (the server calls it about once a second).
  void prune();

 private:
  struct Outcome {
    SteadyTime at;
    std::string path;  // empty for a success
  };
  struct Remembered {
    SteadyTime until;
    PathFailure failure;
  };
  void trim(SteadyTime now);  // under mu_

  const HealthOptions opts_;
  Clock& clock_;
  mutable std::mutex mu_;
  SteadyTime open_until_{};
  std::deque<Outcome> recent_;  // outcomes within the window, oldest first
  size_t failures_ = 0;         // failures in recent_
  std::unordered_map<std::string, int> failing_paths_;  // path -> its failures in recent_
  std::unordered_map<std::string, Remembered> paths_;
};

}  // namespace depot

#pragma once
// Per-host concurrency that scales by itself: grows while throughput grows, halves on
// 429/503/timeouts, and pauses new requests until a Retry-After has passed.
// Not thread-safe; owned by the downloader loop.

#include <chrono>
#include <cstdint>
#include <string>

#include "core/clock.h"

namespace depot {

class ConcurrencyController {
 public:
  // fixed > 0 disables scaling (limit() == fixed always).
  ConcurrencyController(Clock& clock, int initial, int min, int max, int fixed = 0);

  int limit() const { return limit_; }
  // True when a new request may start now (not paused by Retry-After, below the limit).
  bool may_start(int active) const;
  // Reports a completed transfer of `bytes` (success). Feeds the throughput estimate with the
  // file count; its bytes are expected to have been reported through on_bytes already.
  void on_success(uint64_t bytes);
  // Reports an overload signal (429, 503, timeout). `retry_after` pauses new starts.
  void on_overload(std::chrono::milliseconds retry_after = std::chrono::milliseconds(0));
  // Reports bytes received (for the throughput sample); may be called often.
  void on_bytes(uint64_t bytes);
  SteadyTime paused_until() const { return paused_until_; }

 private:
  void maybe_adjust();

  Clock& clock_;
  int limit_;
  int min_;
  int max_;
  bool fixed_;
  SteadyTime paused_until_{};
  SteadyTime window_start_;
  uint64_t window_bytes_ = 0;
  uint64_t window_files_ = 0;
  double best_rate_ = 0;   // best throughput seen at the previous limit (bytes+files/s)
  int last_grow_from_ = 0;
  SteadyTime last_backoff_{};
  SteadyTime hold_until_{};  // no growth probe before this
};

}  // namespace depot

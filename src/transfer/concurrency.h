#pragma once
// Per-host concurrency that scales by itself: grows while throughput grows, halves on
// 429/503/timeouts, and pauses new requests until a Retry-After has passed.
//
// Growth starts with doubling ("slow start": a latency-bound host, e.g. a distant mirror with
// many small files, gives twice the throughput at twice the concurrency) and switches to
// probing steps of +25% once a doubling no longer pays (one that pays a little is halved to
// the middle of the two limits), or after an overload signal. A step is
// judged on a window of at least two round trips, begun one round trip after the step (the
// ramp-up is not judged), and only on windows in which the limit, not a lack of work, held
// requests back. A step that does not pay is undone and the next probe waits.
//
// Not thread-safe; owned by the downloader loop. Time comes from the injected Clock only.

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
  // Reports that requests were waiting while `limit()` transfers ran: the limit, not demand,
  // bounded throughput. Only windows with such a report are judged, and a window begins at the
  // first report, so bytes that arrived before the limit bound (an index fetched alone, then a
  // pause) never count.
  void on_limited();
  // Reports a completed transfer (success) that took `elapsed` from start to last byte. Feeds
  // the throughput estimate with the file count (its bytes are expected to have been reported
  // through on_bytes already) and the round-trip estimate with `elapsed`.
  void on_success(uint64_t bytes, Duration elapsed);
  // Reports an overload signal (429, 503, timeout). `retry_after` pauses new starts.
  void on_overload(std::chrono::milliseconds retry_after = std::chrono::milliseconds(0));
  // Reports bytes received (for the throughput sample); may be called often.
  void on_bytes(uint64_t bytes);
  SteadyTime paused_until() const { return paused_until_; }
  // Smoothed duration of a successful transfer; zero before the first.
  Duration round_trip() const { return srtt_; }
  // True while growth is by doubling.
  bool slow_start() const { return slow_start_; }

 private:
  void maybe_adjust();
  // Starts a new measurement window after a change of the limit, one round trip from now.
  void restart_window(SteadyTime now, bool settle);

  Clock& clock_;
  int limit_;
  int min_;
  int max_;
  bool fixed_;
  bool slow_start_ = true;
  bool limited_ = false;  // the current window saw the limit hold requests back
  SteadyTime paused_until_{};
  SteadyTime window_start_;  // counting starts here (may lie ahead: settling after a step)
  uint64_t window_bytes_ = 0;
  uint64_t window_files_ = 0;
  Duration srtt_{};
  double base_rate_ = 0;  // throughput (bytes + weighted files per second) at trial_from_
  int trial_from_ = 0;    // > 0: the limit was raised from this value and is on trial
  SteadyTime last_backoff_{};
  SteadyTime hold_until_{};  // no growth step before this
};

}  // namespace depot

#pragma once
// A one-line progress display for terminals: files, bytes, rate, ETA; redrawn in place at most
// every 200 ms. Does nothing when the stream is not a terminal. Thread-safe.

#include <cstdio>
#include <mutex>
#include <string>

#include "core/clock.h"
#include "mirror/engine.h"

namespace depot {

class ProgressLine {
 public:
  ProgressLine(FILE* out, Clock& clock, bool enabled);
  ~ProgressLine();
  void update(const MirrorProgress& p);
  // Erases the line (before a log line or the summary) / draws it again.
  void clear();
  void redraw();

  // Formats the line; exposed for tests.
  static std::string format(const MirrorProgress& p, double seconds_elapsed, double rate);

 private:
  std::mutex mu_;
  FILE* out_;
  Clock& clock_;
  bool enabled_;
  SteadyTime start_;
  SteadyTime last_draw_{};
  std::string line_;
  bool drawn_ = false;  // the line is on screen
  uint64_t rate_bytes_ = 0;
  SteadyTime rate_time_{};
  double rate_ = 0;
};

}  // namespace depot

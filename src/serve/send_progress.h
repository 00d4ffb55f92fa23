#pragma once
// SendProgress: when a connection sending a response has become too slow to keep. A client
// that is reading is not idle: it is cut only when it took no byte for `timeout`, or fewer than
// `min_rate` bytes per second over a window of `timeout` (nginx's send_timeout judges the time
// between two successive writes; this judges what the client actually took). Fed with the
// bytes the client has taken so far (written minus still queued in the socket). One per
// connection; not thread-safe.

#include <cstdint>

#include "core/clock.h"

namespace depot {

class SendProgress {
 public:
  SendProgress(Duration timeout, uint64_t min_rate) : timeout_(timeout), min_rate_(min_rate) {}

  // A response starts; `taken` is the connection's running total.
  void start(SteadyTime now, uint64_t taken);
  // False when the connection should be closed.
  bool ok(SteadyTime now, uint64_t taken);

 private:
  Duration timeout_;
  uint64_t min_rate_;
  SteadyTime last_progress_{};
  uint64_t last_taken_ = 0;
  SteadyTime window_start_{};
  uint64_t window_taken_ = 0;
};

}  // namespace depot

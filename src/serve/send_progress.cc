#include "serve/send_progress.h"

#include <algorithm>

namespace depot {

void SendProgress::start(SteadyTime now, uint64_t taken) {
  last_progress_ = window_start_ = now;
  last_taken_ = window_taken_ = taken;
}

bool SendProgress::ok(SteadyTime now, uint64_t taken) {
  taken = std::max(taken, last_taken_);  // queued bytes of a write not yet counted can dip it
  if (taken > last_taken_) {
    last_taken_ = taken;
    last_progress_ = now;
  }
  if (now - last_progress_ >= timeout_) return false;
  if (now - window_start_ < timeout_) return true;
  double seconds = std::chrono::duration<double>(now - window_start_).count();
  if (static_cast<double>(taken - window_taken_) < static_cast<double>(min_rate_) * seconds) {
    return false;
  }
  window_start_ = now;
  window_taken_ = taken;
  return true;
}

}  // namespace depot

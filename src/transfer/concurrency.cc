#include "transfer/concurrency.h"

#include <algorithm>

namespace depot {
namespace {

using std::chrono::milliseconds;

// Throughput is judged over windows at least this long.
constexpr milliseconds kWindow{100};
// A window longer than this spans idle time (e.g. between runs) and is not judged.
constexpr milliseconds kStaleWindow{2000};
// After a growth step that did not pay off, the limit holds this long before the next probe.
constexpr milliseconds kProbeInterval{2000};
// After an overload signal, no growth for this long; further signals within kBackoffSpacing
// belong to the same burst and do not halve again.
constexpr milliseconds kHoldAfterBackoff{3000};
constexpr milliseconds kBackoffSpacing{500};
// A completed file counts as this many bytes in the rate, so that request-bound transfers of
// small files are measured too.
constexpr double kFileWeight = 4096;
// A growth step is kept only if it raised the rate by more than this factor.
constexpr double kGain = 1.05;

}  // namespace

ConcurrencyController::ConcurrencyController(Clock& clock, int initial, int min, int max, int fixed)
    : clock_(clock),
      limit_(0),
      min_(std::max(1, min)),
      max_(std::max(std::max(1, min), max)),
      fixed_(fixed > 0),
      window_start_(clock.now()) {
  limit_ = fixed_ ? fixed : std::clamp(initial, min_, max_);
}

bool ConcurrencyController::may_start(int active) const {
  return active < limit_ && clock_.now() >= paused_until_;
}

void ConcurrencyController::on_success(uint64_t /*bytes*/) {
  ++window_files_;
  maybe_adjust();
}

void ConcurrencyController::on_bytes(uint64_t bytes) {
  window_bytes_ += bytes;
  maybe_adjust();
}

void ConcurrencyController::on_overload(milliseconds retry_after) {
  SteadyTime now = clock_.now();
  if (retry_after.count() > 0) paused_until_ = std::max(paused_until_, now + retry_after);
  if (fixed_) return;
  if (now - last_backoff_ < kBackoffSpacing) return;
  limit_ = std::max(min_, limit_ / 2);
  last_backoff_ = now;
  last_grow_from_ = 0;
  best_rate_ = 0;
  hold_until_ = now + kHoldAfterBackoff;
  window_start_ = now;
  window_bytes_ = 0;
  window_files_ = 0;
}

// Hill climbing: measure a window at the current limit, grow, and keep growing while each step
// raises the rate by more than kGain; a step that does not is undone and the limit holds for
// kProbeInterval before probing again.
void ConcurrencyController::maybe_adjust() {
  if (fixed_) return;
  SteadyTime now = clock_.now();
  Duration elapsed = now - window_start_;
  if (elapsed < kWindow) return;
  double seconds = std::chrono::duration<double>(elapsed).count();
  double rate =
      (static_cast<double>(window_bytes_) + static_cast<double>(window_files_) * kFileWeight) /
      seconds;
  bool judged = elapsed <= kStaleWindow && (window_bytes_ > 0 || window_files_ > 0);
  window_start_ = now;
  window_bytes_ = 0;
  window_files_ = 0;
  if (!judged || now < hold_until_) return;

  if (last_grow_from_ > 0) {
    if (rate > best_rate_ * kGain) {
      best_rate_ = rate;
    } else {
      limit_ = last_grow_from_;
      last_grow_from_ = 0;
      hold_until_ = now + kProbeInterval;
      return;
    }
  } else {
    best_rate_ = rate;  // baseline at the current limit
  }
  if (limit_ >= max_) {
    last_grow_from_ = 0;
    hold_until_ = now + kProbeInterval;
    return;
  }
  last_grow_from_ = limit_;
  limit_ = std::min(max_, std::max(limit_ + 4, limit_ * 3 / 2));
}

}  // namespace depot

#include "transfer/concurrency.h"

#include <algorithm>

namespace depot {
namespace {

using std::chrono::milliseconds;

// Throughput is judged over windows at least this long, and at least two round trips.
constexpr milliseconds kWindow{100};
// A window longer than this (or than two judging windows) spans idle time and is not judged.
constexpr milliseconds kStaleWindow{2000};
// After a growth step that did not pay, or at the maximum, the limit holds this long before
// the next probe.
constexpr milliseconds kProbeInterval{2000};
// After an overload signal, no growth for this long; further signals within kBackoffSpacing
// belong to the same burst and do not halve again.
constexpr milliseconds kHoldAfterBackoff{3000};
constexpr milliseconds kBackoffSpacing{500};
// A completed file counts as this many bytes in the rate, so that request-bound transfers of
// small files are measured too.
constexpr double kFileWeight = 4096;
// A doubling is kept if it raised the rate by more than this factor (a latency-bound host
// gives about 2); a +25% probing step if it raised the rate by more than kGain.
constexpr double kDoublingGain = 1.25;
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

void ConcurrencyController::on_limited() {
  if (limited_) return;
  limited_ = true;
  SteadyTime now = clock_.now();
  if (now <= window_start_) return;  // settling after a step: that window starts as planned
  restart_window(now, /*settle=*/false);
  limited_ = true;
}

void ConcurrencyController::on_success(uint64_t /*bytes*/, Duration elapsed) {
  if (fixed_) return;
  if (elapsed < Duration::zero()) elapsed = Duration::zero();
  srtt_ = srtt_ == Duration::zero() ? elapsed : srtt_ + (elapsed - srtt_) / 8;
  if (clock_.now() >= window_start_) ++window_files_;
  maybe_adjust();
}

void ConcurrencyController::on_bytes(uint64_t bytes) {
  if (fixed_) return;
  if (clock_.now() >= window_start_) window_bytes_ += bytes;
  maybe_adjust();
}

void ConcurrencyController::on_overload(milliseconds retry_after) {
  SteadyTime now = clock_.now();
  if (retry_after.count() > 0) paused_until_ = std::max(paused_until_, now + retry_after);
  if (fixed_) return;
  if (now - last_backoff_ < kBackoffSpacing) return;
  limit_ = std::max(min_, limit_ / 2);
  last_backoff_ = now;
  slow_start_ = false;
  trial_from_ = 0;
  base_rate_ = 0;
  hold_until_ = now + kHoldAfterBackoff;
  restart_window(now, /*settle=*/false);
}

void ConcurrencyController::restart_window(SteadyTime now, bool settle) {
  window_start_ = settle ? now + srtt_ : now;
  window_bytes_ = 0;
  window_files_ = 0;
  limited_ = false;
}

// Hill climbing: measure a window at the current limit, step up, and keep stepping while each
// step raises the rate enough; a step that does not is undone (a doubling that paid less than
// kDoublingGain but more than kGain is halved instead), ends slow start, and the limit holds
// for kProbeInterval before probing again.
void ConcurrencyController::maybe_adjust() {
  SteadyTime now = clock_.now();
  if (now < window_start_) return;
  Duration length = std::max<Duration>(kWindow, 2 * srtt_);
  Duration elapsed = now - window_start_;
  if (elapsed < length) return;
  double seconds = std::chrono::duration<double>(elapsed).count();
  double rate =
      (static_cast<double>(window_bytes_) + static_cast<double>(window_files_) * kFileWeight) /
      seconds;
  bool judged = elapsed <= std::max<Duration>(kStaleWindow, 2 * length) && limited_ &&
                (window_bytes_ > 0 || window_files_ > 0);
  restart_window(now, /*settle=*/false);
  if (!judged || now < hold_until_) return;

  if (trial_from_ > 0 && rate <= base_rate_ * (slow_start_ ? kDoublingGain : kGain)) {
    // A doubling that still paid a little puts the best limit between the two: take the
    // middle. Any other step that did not pay is undone.
    bool between = slow_start_ && rate > base_rate_ * kGain;
    limit_ = between ? trial_from_ + (limit_ - trial_from_) / 2 : trial_from_;
    trial_from_ = 0;
    slow_start_ = false;
    hold_until_ = now + kProbeInterval;
    restart_window(now, /*settle=*/true);
    return;
  }
  base_rate_ = rate;  // the rate at the current limit: the baseline of the next step
  trial_from_ = 0;
  if (limit_ >= max_) {
    hold_until_ = now + kProbeInterval;
    return;
  }
  trial_from_ = limit_;
  int step = slow_start_ ? limit_ : std::max(2, limit_ / 4);
  limit_ = std::min(max_, limit_ + step);
  restart_window(now, /*settle=*/true);
}

}  // namespace depot

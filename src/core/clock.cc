#include "core/clock.h"

namespace depot {

SystemClock::SystemClock() : rng_(std::random_device{}()) {}

double SystemClock::random_unit() {
  std::lock_guard lock(mu_);
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
}

SteadyTime FakeClock::now() const {
  std::lock_guard lock(mu_);
  return now_;
}

std::chrono::system_clock::time_point FakeClock::wall() const {
  std::lock_guard lock(mu_);
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(now_.time_since_epoch()));
}

double FakeClock::random_unit() {
  std::lock_guard lock(mu_);
  return random_;
}

void FakeClock::advance(Duration d) {
  std::lock_guard lock(mu_);
  now_ += d;
}

void FakeClock::set_random(double v) {
  std::lock_guard lock(mu_);
  random_ = v;
}

Clock& system_clock() {
  static SystemClock clock;
  return clock;
}

}  // namespace depot

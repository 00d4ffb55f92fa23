#pragma once
// Injected time and randomness, so TTL, backoff and rate tests are hermetic.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <random>

namespace depot {

using SteadyTime = std::chrono::steady_clock::time_point;
using Duration = std::chrono::steady_clock::duration;

// Thread-safe.
// Seconds and milliseconds since the Unix epoch of a wall-clock time.
inline int64_t unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
inline int64_t unix_millis(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

class Clock {
 public:
  virtual ~Clock() = default;
  virtual SteadyTime now() const = 0;
  virtual std::chrono::system_clock::time_point wall() const = 0;
  // Uniform in [0, 1).
  virtual double random_unit() = 0;
};

class SystemClock final : public Clock {
 public:
  SystemClock();
  SteadyTime now() const override { return std::chrono::steady_clock::now(); }
  std::chrono::system_clock::time_point wall() const override {
    return std::chrono::system_clock::now();
  }
  double random_unit() override;

 private:
  std::mutex mu_;
  std::mt19937_64 rng_;
};

// Manually advanced; random_unit returns a settable constant. Thread-safe.
class FakeClock final : public Clock {
 public:
  SteadyTime now() const override;
  std::chrono::system_clock::time_point wall() const override;
  double random_unit() override;
  void advance(Duration d);
  void set_random(double v);

 private:
  mutable std::mutex mu_;
  SteadyTime now_{std::chrono::hours(1000)};
  double random_ = 0.5;
};

// Process-wide system clock.
Clock& system_clock();

}  // namespace depot

#pragma once
// Which failures are retried, and after how long: exponential backoff with full jitter,
// capped; a server's Retry-After (429/503) is honoured as a lower bound.

#include <chrono>
#include <optional>

#include "core/clock.h"
#include "core/result.h"

namespace depot {

struct RetryPolicy {
  int max_attempts = 5;  // total tries, including the first
  std::chrono::milliseconds base_delay{250};
  std::chrono::milliseconds max_delay{30000};
  std::chrono::milliseconds max_retry_after{120000};  // longer Retry-After: give up (transient)

  // Delay before attempt number `attempt + 1` after `error` on attempt `attempt` (1-based),
  // or nullopt when the job should fail now (permanent error, or attempts used up).
  // `retry_after` is the server's Retry-After, if any. Uses clock.random_unit() for jitter.
  std::optional<std::chrono::milliseconds> next_delay(
      int attempt, const Error& error, std::optional<std::chrono::milliseconds> retry_after,
      Clock& clock) const;
};

// Classifies an HTTP status as an Error (2xx/304 are not errors: nullopt).
// 5xx, 408, 425, 429 are transient; 404/410 are kNotFound (permanent); other 4xx permanent.
std::optional<Error> classify_http_status(long status, const std::string& url);

// Parses a Retry-After header value: delta-seconds or an HTTP-date (relative to `now_wall`).
std::optional<std::chrono::milliseconds> parse_retry_after(
    const std::string& value, std::chrono::system_clock::time_point now_wall);

}  // namespace depot

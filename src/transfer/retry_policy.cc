#include "transfer/retry_policy.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <ctime>
#include <string>

namespace depot {

std::optional<std::chrono::milliseconds> RetryPolicy::next_delay(
    int attempt, const Error& error, std::optional<std::chrono::milliseconds> retry_after,
    Clock& clock) const {
  if (!error.transient || attempt >= max_attempts) return std::nullopt;
  if (retry_after && *retry_after > max_retry_after) return std::nullopt;
  // Full jitter: uniform in [0, min(max_delay, base * 2^(attempt-1))).
  double ceiling =
      static_cast<double>(base_delay.count()) * std::ldexp(1.0, std::clamp(attempt - 1, 0, 62));
  ceiling = std::min(ceiling, static_cast<double>(max_delay.count()));
  auto delay = std::chrono::milliseconds(static_cast<int64_t>(ceiling * clock.random_unit()));
  if (retry_after) delay = std::max(delay, *retry_after);
  return delay;
}

std::optional<Error> classify_http_status(long status, const std::string& url) {
  if ((status >= 200 && status < 300) || status == 304) return std::nullopt;
  std::string message = url + ": HTTP " + std::to_string(status);
  if (status == 404 || status == 410) return make_error(ErrorCode::kNotFound, message);
  bool transient = status >= 500 || status == 408 || status == 425 || status == 429;
  return make_error(ErrorCode::kHttp, std::move(message), transient);
}

std::optional<std::chrono::milliseconds> parse_retry_after(
    const std::string& value, std::chrono::system_clock::time_point now_wall) {
  size_t begin = value.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return std::nullopt;
  size_t end = value.find_last_not_of(" \t\r\n");
  std::string v = value.substr(begin, end - begin + 1);
  if (std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c) != 0; })) {
    if (v.size() > 9) v = "999999999";  // far beyond any sane limit; avoids overflow
    return std::chrono::milliseconds(std::stoll(v) * 1000);
  }
  // An HTTP-date (IMF-fixdate, RFC 850 or asctime); curl_getdate reads all three as UTC.
  // Every form carries a time of day; requiring one keeps stray words from parsing as dates.
  if (v.find(':') == std::string::npos) return std::nullopt;
  time_t when = curl_getdate(v.c_str(), nullptr);
  if (when == -1) return std::nullopt;
  // Dates far from now (year 9999) would overflow system_clock's nanoseconds: the past means
  // now, the far future is capped as the delta-seconds form is.
  const time_t now_sec = std::chrono::system_clock::to_time_t(now_wall);
  if (when <= now_sec) return std::chrono::milliseconds(0);
  if (when - now_sec > 999999999) return std::chrono::milliseconds(999999999000);
  auto target = std::chrono::system_clock::from_time_t(when);
  if (target <= now_wall) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(target - now_wall);
}

}  // namespace depot

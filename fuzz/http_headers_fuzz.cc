// HTTP Range, If-Range and conditional request headers, dates and Accept, evaluated as serve
// does; and the Retry-After header of upstream responses. Input: one header value per line.

#include <chrono>
#include <string>

#include "serve_checks.h"
#include "transfer/retry_policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = depot::fuzz::as_text(data, size);
  std::string_view lines[7];
  for (auto& line : lines) {
    size_t nl = text.find('\n');
    line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
  }
  depot::fuzz::check_headers(
      {lines[0], lines[1], lines[2], lines[3], lines[4], lines[5], lines[6]});
  const auto now = std::chrono::system_clock::from_time_t(1700000000);
  for (std::string_view line : lines) {
    auto delay = depot::parse_retry_after(std::string(line), now);
    if (delay) depot::fuzz::check(delay->count() >= 0, "retry_policy: negative Retry-After");
  }
  return 0;
}

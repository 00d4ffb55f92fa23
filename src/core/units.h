#pragma once
// Human-readable byte sizes, rates and durations.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace depot {

std::string format_bytes(uint64_t bytes);             // "1.5 MiB"
std::string format_rate(double bytes_per_second);     // "12.3 MiB/s"
std::string format_duration(std::chrono::duration<double> d);  // "1m05s", "3.2s"
// Parses "100", "64K", "1.5GiB", "200G" (binary multiples); nullopt when malformed or 2^64 or
// more.
std::optional<uint64_t> parse_bytes(std::string_view text);
// Parses "90s", "30m", "6h", "1d", "2w", "1h30m" (parts with units s m h d w) or a bare number
// of seconds; nullopt when malformed or beyond 100 years.
std::optional<std::chrono::seconds> parse_duration(std::string_view text);

}  // namespace depot

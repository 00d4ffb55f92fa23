#include "core/units.h"

#include <cctype>
#include <cmath>
#include <cstdio>

namespace depot {

std::string format_bytes(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024.0 && u < 5) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  if (u == 0) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[u]);
  }
  return buf;
}

std::string format_rate(double bytes_per_second) {
  if (bytes_per_second < 0 || !std::isfinite(bytes_per_second)) bytes_per_second = 0;
  return format_bytes(static_cast<uint64_t>(bytes_per_second)) + "/s";
}

std::string format_duration(std::chrono::duration<double> d) {
  double s = d.count();
  char buf[32];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(s) / 3600,
                  (static_cast<int>(s) % 3600) / 60);
  }
  return buf;
}

std::optional<uint64_t> parse_bytes(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    ++i;
  if (i == 0) return std::nullopt;
  double v = 0;
  try {
    v = std::stod(std::string(text.substr(0, i)));
  } catch (...) {
    return std::nullopt;
  }
  std::string suffix;
  for (char c : text.substr(i)) suffix += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (suffix.ends_with("IB")) suffix.resize(suffix.size() - 2);
  else if (suffix.ends_with("B")) suffix.resize(suffix.size() - 1);
  double mult = 1;
  if (suffix.empty()) mult = 1;
  else if (suffix == "K") mult = 1024.0;
  else if (suffix == "M") mult = 1024.0 * 1024;
  else if (suffix == "G") mult = 1024.0 * 1024 * 1024;
  else if (suffix == "T") mult = 1024.0 * 1024 * 1024 * 1024;
  else return std::nullopt;
  const double bytes = v * mult;
  if (!(bytes < 18446744073709551616.0)) return std::nullopt;  // 2^64; also NaN, infinity
  return static_cast<uint64_t>(bytes);
}

std::optional<std::chrono::seconds> parse_duration(std::string_view text) {
  constexpr int64_t kMax = 100ll * 366 * 86400;
  auto unit_seconds = [](char u) -> int64_t {
    switch (u) {
      case 's': return 1;
      case 'm': return 60;
      case 'h': return 3600;
      case 'd': return 86400;
      case 'w': return 7 * 86400;
      default: return 0;
    }
  };
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t digits = i;
    int64_t n = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) && n <= kMax) {
      n = n * 10 + (text[i++] - '0');
    }
    if (i == digits || n > kMax) return std::nullopt;
    if (i == text.size()) {
      if (digits != 0) return std::nullopt;  // "1h30" is ambiguous
      total = n;
      break;
    }
    int64_t unit = unit_seconds(text[i++]);
    if (unit == 0) return std::nullopt;
    total += n * unit;
    if (total > kMax) return std::nullopt;
  }
  if (text.empty()) return std::nullopt;
  return std::chrono::seconds(total);
}

}  // namespace depot

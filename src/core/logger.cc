#include "core/logger.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

namespace depot {

LogField::LogField(std::string_view k, double v) : key(k), is_number(true) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  value = buf;
}

static const char* level_name(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
    case LogLevel::kOff: return "off";
  }
  return "?";
}

Logger::Logger(LogLevel level, LogFormat format, FILE* out)
    : level_(level), format_(format), out_(out) {}

void Logger::set_line_hooks(std::function<void()> before, std::function<void()> after) {
  std::lock_guard lock(mu_);
  before_ = std::move(before);
  after_ = std::move(after);
}

static bool needs_quotes(std::string_view v) {
  if (v.empty()) return true;
  for (unsigned char c : v) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f) return true;
  }
  return false;
}

std::string Logger::format_line(LogFormat format, LogLevel level, std::string_view event,
                                const std::vector<LogField>& fields, std::string_view timestamp) {
  if (format == LogFormat::kJson) {
    nlohmann::ordered_json j;
    j["ts"] = timestamp;
    j["level"] = level_name(level);
    j["event"] = event;
    for (const auto& f : fields) {
      if (f.is_number) {
        j[f.key] = nlohmann::ordered_json::parse(f.value, nullptr, false);
      } else {
        j[f.key] = f.value;
      }
    }
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  std::string line(timestamp);
  line += ' ';
  std::string lvl = level_name(level);
  for (auto& c : lvl) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  line += lvl;
  line += ' ';
  line += event;
  for (const auto& f : fields) {
    line += ' ';
    line += f.key;
    line += '=';
    if (!f.is_number && needs_quotes(f.value)) {
      line += nlohmann::json(f.value).dump(-1, ' ', false,
                                           nlohmann::json::error_handler_t::replace);
    } else {
      line += f.value;
    }
  }
  return line;
}

void Logger::log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields) {
  if (!enabled(level)) return;
  log(level, event, std::vector<LogField>(fields));
}

void Logger::log(LogLevel level, std::string_view event, const std::vector<LogField>& fields) {
  if (!enabled(level) || !out_) return;
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
            1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char ts[64];
  std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  std::string line;
  if (filter_) {
    std::vector<LogField> filtered = fields;
    for (LogField& f : filtered) {
      if (!f.is_number) f.value = filter_(f.value);
    }
    line = format_line(format_, level, event, filtered, ts);
  } else {
    line = format_line(format_, level, event, fields, ts);
  }
  line += '\n';
  std::lock_guard lock(mu_);
  if (before_) before_();
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
  if (after_) after_();
}

Logger& null_logger() {
  static Logger logger(LogLevel::kOff, LogFormat::kText, nullptr);
  return logger;
}

LogLevel parse_log_level(std::string_view text) {
  return text == "debug"   ? LogLevel::kDebug
         : text == "warn"  ? LogLevel::kWarn
         : text == "error" ? LogLevel::kError
                           : LogLevel::kInfo;
}

LogFormat parse_log_format(std::string_view text) {
  return text == "json" ? LogFormat::kJson : LogFormat::kText;
}

}  // namespace depot

#pragma once
// One logger, injected. Events have a name and key/value fields; the sink writes them as
// text ("LEVEL event key=value ...") or as one JSON object per line (--log-format json).
// Check enabled() before building expensive fields. Thread-safe.

#include <cstdint>
#include <cstdio>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace depot {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };
enum class LogFormat { kText, kJson };

struct LogField {
  LogField(std::string_view k, std::string_view v) : key(k), value(v), is_number(false) {}
  LogField(std::string_view k, const char* v) : key(k), value(v), is_number(false) {}
  LogField(std::string_view k, const std::string& v) : key(k), value(v), is_number(false) {}
  LogField(std::string_view k, int64_t v) : key(k), value(std::to_string(v)), is_number(true) {}
  LogField(std::string_view k, uint64_t v) : key(k), value(std::to_string(v)), is_number(true) {}
  LogField(std::string_view k, int v) : key(k), value(std::to_string(v)), is_number(true) {}
  LogField(std::string_view k, double v);
  std::string key;
  std::string value;
  bool is_number;
};

// "debug", "info", "warn", "error" (anything else: info).
LogLevel parse_log_level(std::string_view text);
// "json" or "text" (anything else: text).
LogFormat parse_log_format(std::string_view text);

class Logger {
 public:
  // Writes to `out` (not owned; stderr by default).
  explicit Logger(LogLevel level = LogLevel::kInfo, LogFormat format = LogFormat::kText,
                  FILE* out = stderr);

  bool enabled(LogLevel level) const { return level >= level_; }
  void log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields = {});
  void log(LogLevel level, std::string_view event, const std::vector<LogField>& fields);
  void debug(std::string_view e, std::initializer_list<LogField> f = {}) { log(LogLevel::kDebug, e, f); }
  void info(std::string_view e, std::initializer_list<LogField> f = {}) { log(LogLevel::kInfo, e, f); }
  void warn(std::string_view e, std::initializer_list<LogField> f = {}) { log(LogLevel::kWarn, e, f); }
  void error(std::string_view e, std::initializer_list<LogField> f = {}) { log(LogLevel::kError, e, f); }

  LogFormat format() const { return format_; }
  // Called before each log line is written and after, under the logger's lock; lets a
  // progress line on the same terminal be cleared and redrawn.
  void set_line_hooks(std::function<void()> before, std::function<void()> after);
  // Rewrites every text field's value before it is written (e.g. to hide credentials in URLs).
  // Set it before the logger is shared: it is read without the lock.
  void set_value_filter(std::function<std::string(std::string_view)> filter) {
    filter_ = std::move(filter);
  }

  // Formats one event; exposed for tests.
  static std::string format_line(LogFormat format, LogLevel level, std::string_view event,
                                 const std::vector<LogField>& fields, std::string_view timestamp);

 private:
  std::mutex mu_;
  LogLevel level_;
  LogFormat format_;
  FILE* out_;
  std::function<void()> before_, after_;
  std::function<std::string(std::string_view)> filter_;
};

// Logger that discards everything (for tests and library defaults).
Logger& null_logger();

}  // namespace depot

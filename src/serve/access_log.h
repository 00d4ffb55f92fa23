#pragma once
// One line per finished request, as text (combined log format plus the cache outcome and the
// duration) or as JSON lines. AccessLog::write is thread-safe; lines are buffered and written
// with one write(2) per flush, at most 100 ms after being logged and before destruction. While
// the fd does not keep up, lines beyond 16 MiB of backlog are dropped.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <ctime>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "serve/metrics.h"

namespace depot {

struct AccessRecord {
  std::string remote;      // "127.0.0.1"
  std::string method;      // "GET"
  std::string target;      // raw request target, as received
  int status = 0;
  uint64_t bytes = 0;      // body bytes sent
  std::chrono::microseconds duration{0};
  CacheOutcome outcome = CacheOutcome::kNone;
  std::string user_agent;  // may be empty
  std::string referer;     // may be empty
  std::time_t time = 0;    // when the request arrived
};

enum class AccessLogFormat { kText, kJson };

// Text: 127.0.0.1 - - [21/Nov/2026:10:00:00 +0000] "GET /x HTTP/1.1" 200 123 "-" "apt/2.6" HIT 0.000123
// (untrusted fields have '"', '\\', control bytes and bytes >= 0x80 escaped as \xHH; an empty
// field is "-"). JSON: one object with keys
// time (ISO 8601 UTC), remote, method, target, status, bytes, duration_s, cache, user_agent,
// referer — valid JSON whatever bytes the client sent (invalid UTF-8 becomes U+FFFD).
std::string format_access_record(const AccessRecord& r, AccessLogFormat format);

class AccessLog {
 public:
  // `fd` is not owned (1 for stdout, or an opened file).
  AccessLog(int fd, AccessLogFormat format);
  ~AccessLog();  // flushes
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  void write(const AccessRecord& r);
  void flush();

 private:
  void run();
  void drain();  // takes the buffer and writes it; holds io_mu_ so lines keep their order
  int fd_;
  AccessLogFormat format_;
  std::mutex io_mu_;  // held while writing to fd_; taken before mu_
  std::mutex mu_;
  std::condition_variable cv_;
  std::string buffer_;
  bool stop_ = false;
  std::thread flusher_;
};

}  // namespace depot

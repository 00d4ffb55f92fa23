#include "serve/access_log.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace depot {
namespace {

constexpr auto kFlushDelay = std::chrono::milliseconds(100);
constexpr size_t kEarlyFlushBytes = 64 * 1024;          // wake the flusher before the delay
constexpr size_t kMaxBufferedBytes = 16 * 1024 * 1024;  // beyond this, lines are dropped

constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Appends `s` with '"', '\\', control bytes and bytes >= 0x80 escaped as \xHH, so a hostile
// client can neither forge fields nor send terminal escapes; "-" when empty.
void append_escaped(std::string& out, std::string_view s) {
  if (s.empty()) {
    out += '-';
    return;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += ch;
    }
  }
}

std::tm utc(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

double seconds(std::chrono::microseconds d) { return static_cast<double>(d.count()) / 1e6; }

// Writes all of `data` to `fd`; gives up on an error other than EINTR/EAGAIN (the log is
// best-effort and must never stop the server).
void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, 1000) <= 0) return;
    } else {
      return;
    }
  }
}

}  // namespace

std::string format_access_record(const AccessRecord& r, AccessLogFormat format) {
  std::tm tm = utc(r.time);
  if (format == AccessLogFormat::kJson) {
    char when[80];
    std::snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    nlohmann::ordered_json j;
    j["time"] = when;
    j["remote"] = r.remote;
    j["method"] = r.method;
    j["target"] = r.target;
    j["status"] = r.status;
    j["bytes"] = r.bytes;
    j["duration_s"] = seconds(r.duration);
    j["cache"] = cache_outcome_name(r.outcome);
    j["user_agent"] = r.user_agent;
    j["referer"] = r.referer;
    // Invalid UTF-8 becomes U+FFFD, so every line stays valid JSON.
    std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    line += '\n';
    return line;
  }
  std::string line;
  line.reserve(160 + r.target.size() + r.user_agent.size() + r.referer.size());
  append_escaped(line, r.remote);
  char when[96];
  std::snprintf(when, sizeof when, " - - [%02d/%s/%04d:%02d:%02d:%02d +0000] \"", tm.tm_mday,
                kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  line += when;
  append_escaped(line, r.method);
  line += ' ';
  append_escaped(line, r.target);
  char status[64];
  std::snprintf(status, sizeof status, " HTTP/1.1\" %d %" PRIu64 " \"", r.status, r.bytes);
  line += status;
  append_escaped(line, r.referer);
  line += "\" \"";
  append_escaped(line, r.user_agent);
  line += "\" ";
  line += cache_outcome_name(r.outcome);
  char dur[32];
  std::snprintf(dur, sizeof dur, " %.6f\n", seconds(r.duration));
  line += dur;
  return line;
}

AccessLog::AccessLog(int fd, AccessLogFormat format)
    : fd_(fd), format_(format), flusher_([this] { run(); }) {}

AccessLog::~AccessLog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  flusher_.join();
  drain();
}

void AccessLog::write(const AccessRecord& r) {
  std::string line = format_access_record(r, format_);
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (buffer_.size() + line.size() > kMaxBufferedBytes) return;
    bool was_empty = buffer_.empty();
    bool was_small = buffer_.size() < kEarlyFlushBytes;
    buffer_ += line;
    wake = was_empty || (was_small && buffer_.size() >= kEarlyFlushBytes);
  }
  if (wake) cv_.notify_one();
}

void AccessLog::flush() { drain(); }

void AccessLog::drain() {
  std::lock_guard<std::mutex> io(io_mu_);
  std::string data;
  {
    std::lock_guard<std::mutex> lock(mu_);
    data.swap(buffer_);
  }
  write_all(fd_, data);
}

void AccessLog::run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait(lock, [this] { return stop_ || !buffer_.empty(); });
    if (stop_) break;
    // Gather what arrives in the next 100 ms into one write.
    cv_.wait_for(lock, kFlushDelay, [this] { return stop_ || buffer_.size() >= kEarlyFlushBytes; });
    lock.unlock();
    drain();
    lock.lock();
  }
}

}  // namespace depot

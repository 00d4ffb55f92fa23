#include "cli/progress_line.h"

#include "core/units.h"

namespace depot {

ProgressLine::ProgressLine(FILE* out, Clock& clock, bool enabled)
    : out_(out), clock_(clock), enabled_(enabled), start_(clock.now()) {}

ProgressLine::~ProgressLine() { clear(); }

std::string ProgressLine::format(const MirrorProgress& p, double elapsed, double rate) {
  std::string line = p.phase;
  if (p.files_total > 0) {
    line += " " + std::to_string(p.files_done) + "/" + std::to_string(p.files_total) + " files";
    line += ", " + format_bytes(p.bytes_done);
    if (p.bytes_total > 0) line += "/" + format_bytes(p.bytes_total);
    line += ", " + format_rate(rate);
    if (rate > 0 && p.bytes_total > p.bytes_done) {
      double eta = static_cast<double>(p.bytes_total - p.bytes_done) / rate;
      line += ", ETA " + format_duration(std::chrono::duration<double>(eta));
    }
    line += ", " + std::to_string(p.active) + " active";
  }
  line += " [" + format_duration(std::chrono::duration<double>(elapsed)) + "]";
  return line;
}

void ProgressLine::update(const MirrorProgress& p) {
  if (!enabled_) return;
  std::lock_guard lock(mu_);
  auto now = clock_.now();
  if (now - last_draw_ < std::chrono::milliseconds(200)) return;
  double dt = std::chrono::duration<double>(now - rate_time_).count();
  if (rate_time_ != SteadyTime{} && dt > 0 && p.bytes_done >= rate_bytes_) {
    double inst = static_cast<double>(p.bytes_done - rate_bytes_) / dt;
    rate_ = rate_ == 0 ? inst : 0.7 * rate_ + 0.3 * inst;
  }
  rate_bytes_ = p.bytes_done;
  rate_time_ = now;
  last_draw_ = now;
  line_ = format(p, std::chrono::duration<double>(now - start_).count(), rate_);
  std::fprintf(out_, "\r\033[K%s", line_.c_str());
  std::fflush(out_);
  drawn_ = true;
}

void ProgressLine::clear() {
  std::lock_guard lock(mu_);
  if (!enabled_ || !drawn_) return;
  std::fprintf(out_, "\r\033[K");
  std::fflush(out_);
  drawn_ = false;
}

void ProgressLine::redraw() {
  std::lock_guard lock(mu_);
  if (!enabled_ || line_.empty() || drawn_) return;
  std::fprintf(out_, "\r\033[K%s", line_.c_str());
  std::fflush(out_);
  drawn_ = true;
}

}  // namespace depot

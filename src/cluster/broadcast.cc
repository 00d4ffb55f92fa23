#include "cluster/broadcast.h"

#include <algorithm>
#include <cstring>

namespace depot::cluster {

int Broadcast::add_reader() {
  std::lock_guard lock(mu_);
  if (front_dropped_ || aborted_) return -1;
  pos_.push_back(0);
  live_.push_back(true);
  return static_cast<int>(pos_.size()) - 1;
}

uint64_t Broadcast::slowest_locked() const {
  uint64_t slowest = pushed_;
  for (size_t i = 0; i < pos_.size(); ++i) {
    if (live_[i]) slowest = std::min(slowest, pos_[i]);
  }
  return slowest;
}

bool Broadcast::any_live_locked() const {
  return std::any_of(live_.begin(), live_.end(), [](bool b) { return b; });
}

void Broadcast::trim_locked() {
  if (pushed_ <= keep_) return;
  const uint64_t slowest = slowest_locked();
  front_dropped_ = front_dropped_ || slowest > 0;
  while (!chunks_.empty() && chunks_.front().size() == kChunk && base_ + kChunk <= slowest) {
    base_ += kChunk;
    chunks_.pop_front();
  }
}

bool Broadcast::push(const char* data, size_t n) {
  std::unique_lock lock(mu_);
  writer_waiting_ = true;
  writer_cv_.wait(lock, [&] {
    return aborted_ || !any_live_locked() || pushed_ < keep_ || pushed_ - slowest_locked() < window_;
  });
  writer_waiting_ = false;
  if (aborted_ || !any_live_locked()) return false;
  while (n > 0) {
    if (chunks_.empty() || chunks_.back().size() == kChunk) {
      chunks_.emplace_back();
      chunks_.back().reserve(kChunk);
    }
    std::string& c = chunks_.back();
    const size_t m = std::min(n, kChunk - c.size());
    c.append(data, m);
    data += m;
    n -= m;
    pushed_ += m;
  }
  if (readers_waiting_ > 0) readers_cv_.notify_all();
  return true;
}

void Broadcast::finish() {
  std::lock_guard lock(mu_);
  finished_ = true;
  readers_cv_.notify_all();
}

void Broadcast::abort() {
  std::lock_guard lock(mu_);
  aborted_ = true;
  readers_cv_.notify_all();
  writer_cv_.notify_all();
}

long Broadcast::read(int reader, char* buf, size_t n) {
  std::unique_lock lock(mu_);
  const auto r = static_cast<size_t>(reader);
  ++readers_waiting_;
  // No reference into pos_ across the wait: add_reader may grow it meanwhile.
  readers_cv_.wait(lock, [&] { return aborted_ || finished_ || pos_[r] < pushed_; });
  --readers_waiting_;
  uint64_t& pos = pos_[r];
  if (aborted_) return -1;
  if (pos >= pushed_) return 0;  // finished
  const bool was_slowest = pos == slowest_locked();
  size_t copied = 0;
  while (copied < n && pos < pushed_) {
    const std::string& c = chunks_[static_cast<size_t>((pos - base_) / kChunk)];
    const size_t from = static_cast<size_t>((pos - base_) % kChunk);
    const size_t m = std::min(n - copied, c.size() - from);
    std::memcpy(buf + copied, c.data() + from, m);
    copied += m;
    pos += m;
  }
  if (was_slowest) {
    trim_locked();
    if (writer_waiting_) writer_cv_.notify_one();
  }
  return static_cast<long>(copied);
}

void Broadcast::leave(int reader) {
  std::lock_guard lock(mu_);
  live_[static_cast<size_t>(reader)] = false;
  trim_locked();
  writer_cv_.notify_all();
}

uint64_t Broadcast::pushed() const {
  std::lock_guard lock(mu_);
  return pushed_;
}

}  // namespace depot::cluster

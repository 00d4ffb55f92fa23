#include "cluster/broadcast.h"

#include <algorithm>
#include <cstring>

namespace depot::cluster {

int Broadcast::add_reader() {
  std::lock_guard lock(mu_);
  if (base_ > 0 || aborted_) return -1;
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

void Broadcast::trim_locked() {
  if (pushed_ <= keep_) return;
  const uint64_t slowest = slowest_locked();
  while (!chunks_.empty() && base_ + chunks_.front().size() <= slowest) {
    base_ += chunks_.front().size();
    chunks_.pop_front();
  }
}

bool Broadcast::push(const char* data, size_t n) {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] {
    return aborted_ || std::none_of(live_.begin(), live_.end(), [](bool b) { return b; }) ||
           pushed_ < keep_ || pushed_ - slowest_locked() < window_;
  });
  if (aborted_ || std::none_of(live_.begin(), live_.end(), [](bool b) { return b; })) {
    return false;
  }
  chunks_.emplace_back(data, n);
  pushed_ += n;
  cv_.notify_all();
  return true;
}

void Broadcast::finish() {
  std::lock_guard lock(mu_);
  finished_ = true;
  cv_.notify_all();
}

void Broadcast::abort() {
  std::lock_guard lock(mu_);
  aborted_ = true;
  cv_.notify_all();
}

long Broadcast::read(int reader, char* buf, size_t n) {
  std::unique_lock lock(mu_);
  uint64_t& pos = pos_[static_cast<size_t>(reader)];
  cv_.wait(lock, [&] { return aborted_ || finished_ || pos < pushed_; });
  if (aborted_) return -1;
  if (pos >= pushed_) return 0;  // finished
  // Find the chunk holding pos.
  uint64_t offset = base_;
  size_t i = 0;
  while (offset + chunks_[i].size() <= pos) offset += chunks_[i++].size();
  const std::string& c = chunks_[i];
  const size_t from = static_cast<size_t>(pos - offset);
  const size_t m = std::min(n, c.size() - from);
  std::memcpy(buf, c.data() + from, m);
  pos += m;
  trim_locked();
  cv_.notify_all();
  return static_cast<long>(m);
}

void Broadcast::leave(int reader) {
  std::lock_guard lock(mu_);
  live_[static_cast<size_t>(reader)] = false;
  trim_locked();
  cv_.notify_all();
}

uint64_t Broadcast::pushed() const {
  std::lock_guard lock(mu_);
  return pushed_;
}

}  // namespace depot::cluster

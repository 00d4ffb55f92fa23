#include "serve/upstream_health.h"

#include <algorithm>

namespace depot {

UpstreamHealth::UpstreamHealth(const HealthOptions& options, Clock& clock)
    : opts_(options), clock_(clock) {}

bool UpstreamHealth::circuit_open() const {
  std::lock_guard lock(mu_);
  return open_until_ > clock_.now();
}

std::optional<PathFailure> UpstreamHealth::path_failure(std::string_view path) const {
  std::lock_guard lock(mu_);
  auto it = paths_.find(std::string(path));
  if (it == paths_.end() || it->second.until <= clock_.now()) return std::nullopt;
  return it->second.failure;
}

void UpstreamHealth::on_success(std::string_view path) {
  std::lock_guard lock(mu_);
  SteadyTime now = clock_.now();
  open_until_ = SteadyTime{};
  paths_.erase(std::string(path));
  recent_.push_back({now, std::string()});
  trim(now);
}

void UpstreamHealth::on_unreachable() {
  std::lock_guard lock(mu_);
  open_until_ = clock_.now() + opts_.cooldown;
}

void UpstreamHealth::on_path_failure(std::string_view path, PathFailure failure,
                                     bool remember) {
  std::lock_guard lock(mu_);
  SteadyTime now = clock_.now();
  std::string key(path);
  if (remember && (paths_.size() < opts_.max_remembered_paths || paths_.contains(key))) {
    paths_[key] = Remembered{now + opts_.path_ttl, std::move(failure)};
  }
  recent_.push_back({now, key});
  ++failures_;
  ++failing_paths_[key];
  trim(now);
  bool many_paths = failing_paths_.size() >= static_cast<size_t>(std::max(1, opts_.min_paths));
  if (many_paths && failures_ * 2 >= recent_.size()) open_until_ = now + opts_.cooldown;
}

void UpstreamHealth::prune() {
  std::lock_guard lock(mu_);
  SteadyTime now = clock_.now();
  for (auto it = paths_.begin(); it != paths_.end();) {
    it = it->second.until <= now ? paths_.erase(it) : std::next(it);
  }
  trim(now);
}

void UpstreamHealth::trim(SteadyTime now) {
  constexpr size_t kMaxOutcomes = 100000;  // bounded memory under a flood
  while (!recent_.empty() &&
         (now - recent_.front().at > opts_.window || recent_.size() > kMaxOutcomes)) {
    const std::string& path = recent_.front().path;
    if (!path.empty()) {
      --failures_;
      auto it = failing_paths_.find(path);
      if (--it->second == 0) failing_paths_.erase(it);
    }
    recent_.pop_front();
  }
}

}  // namespace depot

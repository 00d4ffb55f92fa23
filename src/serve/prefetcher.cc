#include "serve/prefetcher.h"

#include <algorithm>
#include <utility>

namespace depot {

Prefetcher::Prefetcher(PrefetchOptions options, Clock& clock, PrefetchTarget& target)
    : opts_(options),
      clock_(clock),
      target_(target),
      tokens_(static_cast<double>(options.budget_per_hour)),
      refilled_(clock.now()) {}

void Prefetcher::refill() {
  const SteadyTime now = clock_.now();
  const double hours = std::chrono::duration<double, std::ratio<3600>>(now - refilled_).count();
  const auto budget = static_cast<double>(opts_.budget_per_hour);
  tokens_ = std::min(budget, tokens_ + budget * std::max(0.0, hours));
  refilled_ = now;
}

Prefetcher::Offer Prefetcher::offer(const std::string& key, uint64_t size) {
  if (!enabled()) return Offer::kOff;
  std::lock_guard lock(mu_);
  if (known_.count(key)) return Offer::kKnown;
  if (size > opts_.budget_per_hour) {
    counts_.refused++;
    return Offer::kOverBudget;
  }
  if (waiting_.size() >= opts_.queue) {
    counts_.refused++;
    return Offer::kQueueFull;
  }
  waiting_.push_back({key, size});
  known_.emplace(key, State::kWaiting);
  counts_.queued++;
  return Offer::kQueued;
}

bool Prefetcher::take_hit(std::string_view key) {
  std::lock_guard lock(mu_);
  auto it = known_.find(key);
  // A file still waiting is fetched by the client's own request.
  if (it == known_.end() || it->second == State::kWaiting) return false;
  known_.erase(it);
  counts_.hits++;
  return true;
}

void Prefetcher::remember(const std::string& key) {
  prefetched_.push_back(key);
  while (prefetched_.size() > kRemembered) {
    known_.erase(prefetched_.front());
    prefetched_.pop_front();
  }
}

void Prefetcher::poll(bool clients_waiting) {
  std::vector<std::string> to_start;
  {
    std::lock_guard lock(mu_);
    for (auto it = running_.begin(); it != running_.end();) {
      std::optional<bool> end = it->job ? it->job->finished() : std::nullopt;
      if (!end) {
        ++it;
        continue;
      }
      if (*end) {
        const uint64_t got = it->size > 0 ? it->size : it->job->bytes();
        if (it->size == 0) tokens_ -= static_cast<double>(got);  // charged now
        counts_.done++;
        counts_.bytes += got;
        if (auto k = known_.find(it->key); k != known_.end()) {  // else a client took it
          k->second = State::kPrefetched;
          remember(it->key);
        }
      } else {
        counts_.failed++;
        known_.erase(it->key);
      }
      it = running_.erase(it);
    }
    refill();
    while (!clients_waiting && !waiting_.empty() &&
           running_.size() < static_cast<size_t>(opts_.concurrency) &&
           tokens_ >= static_cast<double>(waiting_.front().size) && tokens_ > 0) {
      tokens_ -= static_cast<double>(waiting_.front().size);
      to_start.push_back(waiting_.front().key);
      known_[waiting_.front().key] = State::kRunning;
      running_.push_back({waiting_.front().key, waiting_.front().size, nullptr});
      waiting_.pop_front();
    }
  }
  for (const std::string& key : to_start) {
    std::unique_ptr<PrefetchJob> job = target_.start(key);
    std::lock_guard lock(mu_);
    for (Running& r : running_) {
      if (r.key == key && !r.job) r.job = std::move(job);
    }
  }
}

Prefetcher::Counts Prefetcher::counts() const {
  std::lock_guard lock(mu_);
  Counts c = counts_;
  c.waiting = static_cast<int64_t>(waiting_.size());
  c.running = static_cast<int64_t>(running_.size());
  return c;
}

}  // namespace depot

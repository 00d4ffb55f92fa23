#pragma once
// Prefetcher: fetches files ahead of the clients that will ask for them (usage-driven prefetch),
// at most `concurrency` at once and within a byte budget per hour: a token bucket that holds at
// most one hour's budget and refills continuously. Files wait in a bounded queue, oldest first,
// until the budget covers them; a file larger than a whole hour's budget is refused at once. A
// file of unknown size starts while the budget is not spent and is charged when it ends, so the
// budget may be overdrawn by at most one such file per slot (the debt is paid by the refill).
// Thread-safe. poll() (about once a second) starts and finishes the jobs; it never blocks.

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"

namespace depot {

struct PrefetchOptions {
  uint64_t budget_per_hour = 0;  // bytes; 0: prefetch off
  int concurrency = 2;
  size_t queue = 10000;          // files waiting, at most
};

// One fetch in progress: finished() is nullopt while it runs, then whether it stored the file.
class PrefetchJob {
 public:
  virtual ~PrefetchJob() = default;
  virtual std::optional<bool> finished() = 0;
  virtual uint64_t bytes() = 0;  // of the file, once finished() said true
};

// Starts fetching a file for the cache; never null. Called without the prefetcher's lock.
class PrefetchTarget {
 public:
  virtual ~PrefetchTarget() = default;
  virtual std::unique_ptr<PrefetchJob> start(const std::string& key) = 0;
};

class Prefetcher {
 public:
  enum class Offer { kQueued, kKnown, kOverBudget, kQueueFull, kOff };
  struct Counts {
    uint64_t queued = 0, done = 0, failed = 0, refused = 0, hits = 0, bytes = 0;
    int64_t waiting = 0, running = 0;
  };

  Prefetcher(PrefetchOptions options, Clock& clock, PrefetchTarget& target);

  // Queues `key` of `size` bytes (0: unknown). kKnown: queued, running or prefetched already.
  Offer offer(const std::string& key, uint64_t size);
  // True once when a client asks for a file this prefetcher fetched or is fetching (counted as
  // a prefetch hit); false for every other file.
  bool take_hit(std::string_view key);
  // Finishes the jobs that ended and starts queued ones the budget and concurrency allow;
  // none while `clients_waiting` (clients' misses queued for an upstream worker come first).
  void poll(bool clients_waiting = false);
  Counts counts() const;
  bool enabled() const { return opts_.budget_per_hour > 0; }

  static constexpr size_t kRemembered = 100'000;  // prefetched keys kept for take_hit

 private:
  struct Waiting {
    std::string key;
    uint64_t size;
  };
  struct Running {
    std::string key;
    uint64_t size;
    std::unique_ptr<PrefetchJob> job;
  };
  void refill();  // mu_ held
  void remember(const std::string& key);  // mu_ held

  const PrefetchOptions opts_;
  Clock& clock_;
  PrefetchTarget& target_;
  mutable std::mutex mu_;
  double tokens_;
  SteadyTime refilled_;
  std::deque<Waiting> waiting_;
  std::vector<Running> running_;
  enum class State { kWaiting, kRunning, kPrefetched };
  std::map<std::string, State, std::less<>> known_;
  std::deque<std::string> prefetched_;        // the prefetched part of known_, oldest first
  Counts counts_;
};

}  // namespace depot

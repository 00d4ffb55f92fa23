#pragma once
// TierWriter: copies blobs the cache fetched from upstream into its CacheTier behind the
// clients' backs (write-behind), on its own threads, so that a slow or failing tier never
// delays an answer. At most `max_queued` keys wait; a key already waiting is not queued twice,
// and keys beyond the bound are dropped (counted: the next node that misses the blob fetches it
// upstream and offers it again). A failed put is logged naming the object and dropped.
// Thread-safe.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/byte_source.h"
#include "core/logger.h"
#include "core/result.h"
#include "serve/cache_tier.h"
#include "serve/metrics.h"

namespace depot {

class TierWriter {
 public:
  struct Item {
    std::string key;
    std::string sha256;  // of the stored local copy, lower-case hex
    uint64_t size = 0;
  };
  // Opens the stored local copy of a key for reading (kNotFound when it is gone). Thread-safe.
  using OpenFn = std::function<Result<std::unique_ptr<ByteSource>>(const std::string& key)>;

  TierWriter(CacheTier& tier, OpenFn open, int threads, size_t max_queued, ServeMetrics& metrics,
             Logger& logger);
  // Finishes the puts running; queued ones are dropped.
  ~TierWriter();
  TierWriter(const TierWriter&) = delete;
  TierWriter& operator=(const TierWriter&) = delete;

  // Queues `item`; false when its key is already waiting or the queue is full.
  bool submit(Item item);
  // Waits until nothing is queued or running, at most `timeout`; true when idle.
  bool wait_idle(std::chrono::milliseconds timeout);

 private:
  void run();
  void put(const Item& item);

  CacheTier& tier_;
  OpenFn open_;
  const size_t max_queued_;
  ServeMetrics& metrics_;
  Logger& log_;
  std::mutex mu_;
  std::condition_variable cv_, idle_cv_;
  std::deque<Item> queue_;
  std::set<std::string, std::less<>> waiting_;  // keys in queue_
  int running_ = 0;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace depot

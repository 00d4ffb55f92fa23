#include "serve/tier_writer.h"

namespace depot {

TierWriter::TierWriter(CacheTier& tier, OpenFn open, int threads, size_t max_queued,
                       ServeMetrics& metrics, Logger& logger)
    : tier_(tier), open_(std::move(open)), max_queued_(max_queued), metrics_(metrics),
      log_(logger) {
  for (int i = 0; i < std::max(1, threads); ++i) threads_.emplace_back([this] { run(); });
}

TierWriter::~TierWriter() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    queue_.clear();
    waiting_.clear();
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

bool TierWriter::submit(Item item) {
  {
    std::lock_guard lock(mu_);
    if (stop_ || waiting_.contains(item.key)) return false;
    if (queue_.size() >= max_queued_) {
      metrics_.tier_dropped++;
      return false;
    }
    waiting_.insert(item.key);
    queue_.push_back(std::move(item));
  }
  cv_.notify_one();
  return true;
}

bool TierWriter::wait_idle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return idle_cv_.wait_for(lock, timeout, [this] { return queue_.empty() && running_ == 0; });
}

void TierWriter::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    Item item = std::move(queue_.front());
    queue_.pop_front();
    waiting_.erase(item.key);
    ++running_;
    lock.unlock();
    put(item);
    lock.lock();
    --running_;
    if (queue_.empty() && running_ == 0) idle_cv_.notify_all();
  }
}

void TierWriter::put(const Item& item) {
  auto in = open_(item.key);
  Status st = in.ok() ? tier_.put(item.key, **in, item.size, item.sha256) : Status(in.error());
  if (st.ok()) {
    metrics_.tier_stored++;
    metrics_.tier_stored_bytes += item.size;
    log_.debug("cache_tier_stored", {{"path", item.key}, {"object", tier_.describe(item.key)}});
    return;
  }
  metrics_.tier_errors++;
  log_.warn("cache_tier_store_failed",
            {{"path", item.key}, {"object", tier_.describe(item.key)}, {"error", st.error().message}});
}

}  // namespace depot

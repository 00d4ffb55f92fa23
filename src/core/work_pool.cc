#include "core/work_pool.h"

#include <exception>

namespace depot {

struct WorkPool::Batch {
  std::vector<std::function<void()>> tasks;
  std::mutex mu;
  std::condition_variable done_cv;
  size_t remaining = 0;
  std::exception_ptr error;  // the first task exception, under mu
};

WorkPool::WorkPool(unsigned threads) {
  threads_.reserve(threads);
  for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { loop(); });
}

WorkPool::~WorkPool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void WorkPool::run_item(const Item& item) {
  std::exception_ptr error;
  try {
    item.batch->tasks[item.index]();
  } catch (...) {
    error = std::current_exception();
  }
  std::lock_guard lock(item.batch->mu);
  if (error && !item.batch->error) item.batch->error = error;
  if (--item.batch->remaining == 0) item.batch->done_cv.notify_all();
}

void WorkPool::loop() {
  for (;;) {
    Item item;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    run_item(item);
  }
}

void WorkPool::run_all(std::vector<std::function<void()>> tasks) {
  if (tasks.empty()) return;
  auto batch = std::make_shared<Batch>();
  batch->tasks = std::move(tasks);
  batch->remaining = batch->tasks.size();
  const size_t n = batch->tasks.size();
  if (!threads_.empty()) {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < n; ++i) queue_.push_back({batch, i});
  }
  cv_.notify_all();
  if (threads_.empty()) {
    for (size_t i = 0; i < n; ++i) run_item({batch, i});
    if (batch->error) std::rethrow_exception(batch->error);
    return;
  }
  // The caller works too: it takes this batch's items off the queue while any are left.
  for (;;) {
    Item item;
    {
      std::lock_guard lock(mu_);
      auto it = queue_.begin();
      while (it != queue_.end() && it->batch != batch) ++it;
      if (it == queue_.end()) break;
      item = std::move(*it);
      queue_.erase(it);
    }
    run_item(item);
  }
  std::unique_lock lock(batch->mu);
  batch->done_cv.wait(lock, [&] { return batch->remaining == 0; });
  if (batch->error) std::rethrow_exception(batch->error);
}

void run_all(WorkPool* pool, std::vector<std::function<void()>> tasks) {
  if (pool != nullptr) return pool->run_all(std::move(tasks));
  for (auto& task : tasks) task();
}

}  // namespace depot

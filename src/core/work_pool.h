#pragma once
// WorkPool: a fixed set of threads for CPU-bound work (hashing, compression), woken by a
// condition variable. run_all() hands a batch of tasks to the pool and the calling thread
// works on the same batch, so a pool of N threads gives a caller N + 1 lanes and a pool of 0
// threads runs everything inline. Thread-safe: any number of threads may call run_all() at
// once; their tasks share the pool's threads. A task that throws does not stop the others: the
// first exception is rethrown by run_all once every task of the batch has finished.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace depot {

class WorkPool {
 public:
  explicit WorkPool(unsigned threads);
  ~WorkPool();  // finishes queued tasks, then joins
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  unsigned threads() const { return static_cast<unsigned>(threads_.size()); }

  // Runs every task (in any order, concurrently) and returns when all have finished.
  void run_all(std::vector<std::function<void()>> tasks);

 private:
  struct Batch;
  struct Item {
    std::shared_ptr<Batch> batch;
    size_t index;
  };
  void loop();
  static void run_item(const Item& item);

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// pool->run_all(tasks), or every task in turn on the calling thread when `pool` is null.
void run_all(WorkPool* pool, std::vector<std::function<void()>> tasks);

}  // namespace depot

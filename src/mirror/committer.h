#pragma once
// Commits batches of finished blob files on a background thread (batched sync, renames,
// directory syncs, then the state-DB rows), so the download loop never waits for the disk.
// Batches commit in submission order. The queue is bounded: submit() blocks while
// `max_queued` batches wait (back-pressure bounds temporary disk use and memory).
//
// Thread-safety: submit() and drain() are called from one thread (the engine's). While any
// batch is pending, that thread must not use `db`, and may use `target` only for begin_write()
// and WriteTxn operations (see Target).

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/logger.h"
#include "mirror/state_db.h"
#include "storage/target.h"

namespace depot {

class BatchCommitter {
 public:
  BatchCommitter(Target& target, StateDb& db, Logger& logger, size_t max_queued = 4);
  ~BatchCommitter();  // drains

  // Queues one batch. After the first failure every later batch is dropped uncommitted
  // (its temporary files removed) and drain() reports that failure.
  void submit(std::vector<std::unique_ptr<WriteTxn>> txns, std::vector<FileRecord> records);
  // Waits until every submitted batch is committed or dropped; returns the first error.
  Status drain();
  uint64_t committed_files() const;

 private:
  struct Batch {
    std::vector<std::unique_ptr<WriteTxn>> txns;
    std::vector<FileRecord> records;
  };
  void work();

  Target& target_;
  StateDb& db_;
  Logger& logger_;
  size_t max_queued_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Batch> queue_;
  bool busy_ = false;
  bool stop_ = false;
  Status first_error_;
  uint64_t committed_files_ = 0;
  std::thread worker_;
};

}  // namespace depot

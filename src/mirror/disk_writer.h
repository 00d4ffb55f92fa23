#pragma once
// Moves file writes off the download loop: each Sink buffers the bytes it is given and queues
// them, in order, for one writer thread that opens, writes and closes the write transactions.
// The loop thread then only receives and hashes; the disk works on the other core.
//
// Thread-safety: a Sink's write/reset/finish/drop and make_sink() are called from one thread
// (the download loop). `done` callbacks run on the writer thread. drain() waits for every
// queued operation; Sinks must outlive it.

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/byte_sink.h"
#include "storage/target.h"

namespace depot {

class DiskWriter {
 public:
  using DoneFn = std::function<void(Result<std::unique_ptr<WriteTxn>>)>;
  class Sink;

  // `max_queued_bytes` bounds the memory of blocks waiting for the writer (counted by block
  // capacity, 256 KiB each); a Sink's write blocks past it.
  explicit DiskWriter(Target& target, size_t max_queued_bytes = 16u << 20);
  ~DiskWriter();  // drains

  // A sink whose transaction is begun with `hints` at its first write.
  std::unique_ptr<Sink> make_sink(RelPath path, WriteHints hints = {});
  void drain();

 private:
  // A fixed-capacity, kDirectAlignment-aligned block (full blocks may bypass the page cache).
  class Buffer {
   public:
    Buffer() = default;
    Buffer(Buffer&& o) noexcept : data_(o.data_), size_(o.size_) { o.data_ = nullptr, o.size_ = 0; }
    Buffer& operator=(Buffer&& o) noexcept;
    ~Buffer();
    static Buffer allocate();
    bool allocated() const { return data_ != nullptr; }
    size_t size() const { return size_; }
    bool full() const;
    bool empty() const { return size_ == 0; }
    // Appends as much of `in` as fits; returns the count taken.
    size_t append(std::span<const std::byte> in);
    void clear() { size_ = 0; }
    std::span<const std::byte> bytes() const { return {data_, size_}; }

   private:
    std::byte* data_ = nullptr;
    size_t size_ = 0;
  };
  enum class OpKind { kWrite, kReset, kFinish, kDrop };
  struct Op {
    Sink* sink;
    OpKind kind;
    Buffer data;
    DoneFn done;
  };

  // Queued memory is counted by block capacity: a small file's block is mostly empty.
  static size_t footprint(const Buffer& b);
  void push(Op op);
  Buffer take_buffer();
  void work();
  void execute(Op& op);

  Target& target_;
  size_t max_queued_bytes_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Op> queue_;
  std::vector<Buffer> pool_;
  size_t queued_bytes_ = 0;
  bool busy_ = false;
  bool stop_ = false;
  std::thread worker_;
};

class DiskWriter::Sink final : public ByteSink {
 public:
  Sink(DiskWriter& writer, RelPath path, WriteHints hints)
      : writer_(writer), path_(std::move(path)), hints_(std::move(hints)) {}

  Status write(std::span<const std::byte> data) override;
  Status reset() override;
  uint64_t bytes_written() const override { return written_; }
  // Queues: after the writes before it, close the file and hand it to `done` (an error when a
  // write failed); an empty file is created when nothing was written.
  void finish(DoneFn done);
  // Queues: discard the file.
  void drop();
  const RelPath& path() const { return path_; }

 private:
  friend class DiskWriter;
  DiskWriter& writer_;
  RelPath path_;
  WriteHints hints_;
  Buffer buf_;           // loop side: bytes not yet queued
  uint64_t written_ = 0;  // loop side
  std::unique_ptr<WriteTxn> txn_;  // writer side
  Status error_;                   // writer side
};

}  // namespace depot

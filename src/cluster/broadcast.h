#pragma once
// Broadcast: one body read once and handed to several readers at once (the gateway's fan-out
// upload: the client's body streamed to R nodes). The writer blocks while the slowest live
// reader is more than `window` bytes behind; a reader blocks until bytes arrive, the body ends
// or it is aborted. A reader that leaves (its node failed) no longer holds the writer back.
// The first `keep` bytes stay until the writer has pushed more than `keep`, so a reader added
// late (a replacement for a node that refused at once) can still start from byte 0.
// Bytes are kept in chunks of kChunk (the last one filling), so a read finds its chunk at once
// and may copy across chunks; a reader wakes the writer only when it was the slowest.
// Thread-safe: one writer thread and one thread per reader.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace depot::cluster {

class Broadcast {
 public:
  Broadcast(uint64_t window, uint64_t keep) : window_(window), keep_(keep) {}

  // A new reader starting at byte 0; -1 when byte 0 is gone.
  int add_reader();
  // The writer's next bytes. Returns false when every reader has left (nobody wants them).
  bool push(const char* data, size_t n);
  // The writer reached the end of the body.
  void finish();
  // The body failed: every reader's read returns -1.
  void abort();
  // Up to n bytes for `reader`: > 0 bytes copied, 0 at the end of the body, -1 when aborted.
  long read(int reader, char* buf, size_t n);
  // `reader` stops reading; its position no longer holds back the writer.
  void leave(int reader);
  // Bytes pushed so far.
  uint64_t pushed() const;

 private:
  static constexpr size_t kChunk = 256 * 1024;

  uint64_t slowest_locked() const;  // position of the slowest live reader; pushed_ if none
  bool any_live_locked() const;
  void trim_locked();  // drops the full chunks every live reader passed

  const uint64_t window_, keep_;
  mutable std::mutex mu_;
  std::condition_variable writer_cv_, readers_cv_;
  std::deque<std::string> chunks_;  // each kChunk bytes but the last
  uint64_t base_ = 0;    // offset of chunks_.front(): a multiple of kChunk
  uint64_t pushed_ = 0;  // offset after the last chunk
  bool finished_ = false, aborted_ = false;
  bool front_dropped_ = false;  // byte 0 passed by every live reader after `keep`: no new reader
  bool writer_waiting_ = false;
  size_t readers_waiting_ = 0;
  std::vector<uint64_t> pos_;   // per reader
  std::vector<bool> live_;      // per reader
};

}  // namespace depot::cluster

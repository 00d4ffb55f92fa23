#pragma once
// A ByteSink into memory for tests. One writer; bytes_written() may be read from any thread.

#include <algorithm>
#include <atomic>
#include <string>

#include "core/byte_sink.h"

namespace depot::testing {

class MemorySink final : public ByteSink {
 public:
  Status write(std::span<const std::byte> data) override {
    if (fail_writes) return make_error(ErrorCode::kIo, "/mirror/f: No space left on device");
    data_.append(reinterpret_cast<const char*>(data.data()), data.size());
    size_ = data_.size();
    max_size = std::max(max_size, data_.size());
    return ok_status();
  }
  Status reset() override {
    ++resets;
    data_.clear();
    size_ = 0;
    return ok_status();
  }
  uint64_t bytes_written() const override { return size_.load(); }
  const std::string& data() const { return data_; }

  bool fail_writes = false;
  int resets = 0;
  size_t max_size = 0;

 private:
  std::string data_;
  std::atomic<uint64_t> size_{0};
};

}  // namespace depot::testing

#pragma once
// A destination for streamed bytes (a download target). Shared by transfer and storage.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "core/result.h"

namespace depot {

// Not thread-safe: one writer at a time.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual Status write(std::span<const std::byte> data) = 0;
  // Discards everything written so far (before a retry from byte 0).
  virtual Status reset() = 0;
  virtual uint64_t bytes_written() const = 0;
};

// Collects the bytes in memory (small bodies).
class StringSink final : public ByteSink {
 public:
  Status write(std::span<const std::byte> data) override {
    out.append(reinterpret_cast<const char*>(data.data()), data.size());
    return {};
  }
  Status reset() override {
    out.clear();
    return {};
  }
  uint64_t bytes_written() const override { return out.size(); }
  std::string out;
};

}  // namespace depot

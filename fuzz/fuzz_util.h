#pragma once
// Helpers shared by the libFuzzer targets in fuzz/. Not thread-safe (fuzz targets run one input
// at a time).

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace depot::fuzz {

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Splits `text` into consecutive pieces (some empty) whose sizes follow from its last byte, so a
// push parser sees chunk boundaries anywhere (inside a line, an escape, a tag, a UTF-8
// sequence) while the whole input stays the document: seed files are parsed as they are, and
// mutating the last byte moves the boundaries.
inline std::vector<std::string_view> split_chunks(std::string_view text) {
  std::vector<std::string_view> out;
  const uint32_t seed = text.empty() ? 0 : static_cast<unsigned char>(text.back());
  const uint32_t max_piece = 1 + seed % 61;
  uint32_t state = seed * 2654435761u + 1;
  while (!text.empty()) {
    state = state * 1103515245u + 12345u;
    size_t n = (state >> 16) % (max_piece + 1);  // 0..max_piece: empty pieces too
    if (n > text.size()) n = text.size();
    out.push_back(text.substr(0, n));
    text.remove_prefix(n);
  }
  return out;
}

// An oracle failure (two code paths disagree): reported as a crash.
inline void check(bool cond, const char* what) {
  if (!cond) {
    std::fprintf(stderr, "fuzz check failed: %s\n", what);
    std::abort();
  }
}

// The input as an anonymous in-memory file, for readers that take a path: open it by path().
class MemFile {
 public:
  explicit MemFile(std::string_view bytes) : fd_(::memfd_create("fuzz", MFD_CLOEXEC)) {
    check(fd_ >= 0, "memfd_create");
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
      check(n > 0, "write to memfd");
      done += static_cast<size_t>(n);
    }
  }
  ~MemFile() { ::close(fd_); }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

 private:
  int fd_;
};

}  // namespace depot::fuzz

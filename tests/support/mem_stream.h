#pragma once
// A FILE* writing into memory (open_memstream), for code under test that prints to a stream.

#include <cstdio>
#include <cstdlib>
#include <string>

namespace depot::testing {

class MemStream {
 public:
  MemStream() : file_(open_memstream(&buf_, &len_)) {}
  ~MemStream() {
    close();
    std::free(buf_);
  }
  MemStream(const MemStream&) = delete;
  MemStream& operator=(const MemStream&) = delete;

  FILE* file() { return file_; }
  // Closes the stream and returns everything written.
  std::string str() {
    close();
    return std::string(buf_, len_);
  }

 private:
  void close() {
    if (file_) std::fclose(file_);
    file_ = nullptr;
  }
  char* buf_ = nullptr;
  size_t len_ = 0;
  FILE* file_;
};

}  // namespace depot::testing

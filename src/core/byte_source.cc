#include "core/byte_source.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>

namespace depot {
namespace {

constexpr size_t kChunk = 1 << 17;

class FileSource final : public ByteSource {
 public:
  FileSource(UniqueFd fd, std::string name) : fd_(std::move(fd)), name_(std::move(name)) {}
  Result<size_t> read(std::span<std::byte> buf) override {
    for (;;) {
      ssize_t n = ::read(fd_.get(), buf.data(), buf.size());
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return make_error(ErrorCode::kIo, name_ + ": " + std::strerror(errno));
    }
  }

 private:
  UniqueFd fd_;
  std::string name_;
};

class MemorySource final : public ByteSource {
 public:
  explicit MemorySource(std::shared_ptr<const std::string> bytes) : bytes_(std::move(bytes)) {}
  Result<size_t> read(std::span<std::byte> buf) override {
    size_t n = std::min(buf.size(), bytes_->size() - pos_);
    std::memcpy(buf.data(), bytes_->data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::shared_ptr<const std::string> bytes_;
  size_t pos_ = 0;
};

}  // namespace

Result<std::unique_ptr<ByteSource>> open_file_source(const std::filesystem::path& file,
                                                     std::string_view name) {
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return make_error(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                      std::string(name) + ": " + file.string() + ": " + std::strerror(errno));
  }
  return fd_source(std::move(fd), std::string(name) + ": " + file.string());
}

std::unique_ptr<ByteSource> fd_source(UniqueFd fd, std::string name) {
  return std::make_unique<FileSource>(std::move(fd), std::move(name));
}

std::unique_ptr<ByteSource> memory_source(std::shared_ptr<const std::string> bytes) {
  return std::make_unique<MemorySource>(std::move(bytes));
}

Status for_each_chunk(ByteSource& in, const std::function<Status(std::string_view)>& fn) {
  std::string buf(kChunk, '\0');
  for (;;) {
    DEPOT_ASSIGN_OR_RETURN(size_t n, in.read(std::as_writable_bytes(std::span(buf))));
    if (n == 0) return ok_status();
    DEPOT_TRY(fn(std::string_view(buf.data(), n)));
  }
}

Result<std::string> read_all(ByteSource& in, std::string_view name, uint64_t max_bytes) {
  std::string out;
  DEPOT_TRY(for_each_chunk(in, [&](std::string_view chunk) -> Status {
    if (out.size() + chunk.size() > max_bytes) {
      return make_error(ErrorCode::kParse, std::string(name) + ": larger than " +
                                               std::to_string(max_bytes) + " bytes");
    }
    out.append(chunk);
    return ok_status();
  }));
  return out;
}

Result<std::pair<Digests, uint64_t>> hash_source(ByteSource& in, unsigned algos) {
  Hasher h(algos);
  uint64_t size = 0;
  DEPOT_TRY(for_each_chunk(in, [&](std::string_view chunk) {
    h.update(chunk);
    size += chunk.size();
    return ok_status();
  }));
  return std::make_pair(h.finish(), size);
}

}  // namespace depot

#include "core/file_io.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace depot {

Result<std::string> read_whole_file(const std::filesystem::path& file, std::string_view name,
                                    uint64_t max_bytes) {
  std::error_code ec;
  auto size = std::filesystem::file_size(file, ec);
  if (ec) return make_error(ErrorCode::kIo, std::string(name) + ": " + file.string() + ": " + ec.message());
  if (size > max_bytes) {
    return make_error(ErrorCode::kParse, std::string(name) + ": larger than " +
                                             std::to_string(max_bytes) + " bytes");
  }
  std::ifstream in(file, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (!in && !in.eof()) {
    return make_error(ErrorCode::kIo, std::string(name) + ": cannot read " + file.string());
  }
  return ss.str();
}

Status write_whole_file(const std::filesystem::path& file, std::string_view data) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  out.close();
  if (!out) return make_error(ErrorCode::kIo, file.string() + ": cannot write");
  return ok_status();
}

namespace {

// Opens `dir` and applies `op` (fsync or syncfs) to it; `what` names the call in errors.
Status sync_dir_with(const std::filesystem::path& dir, int (*op)(int), const char* what) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int rc = fd >= 0 ? op(fd) : -1;
  int err = errno;
  if (fd >= 0) ::close(fd);
  if (rc != 0) {
    return make_error(ErrorCode::kIo, dir.string() + ": " + what + ": " + std::strerror(err));
  }
  return {};
}

}  // namespace

Status fsync_directory(const std::filesystem::path& dir) {
  return sync_dir_with(dir, ::fsync, "fsync");
}

Status sync_filesystem(const std::filesystem::path& dir) {
  return sync_dir_with(dir, ::syncfs, "syncfs");
}

Result<UniqueFd> lock_file(const std::filesystem::path& file, std::string_view busy_message) {
  UniqueFd fd(::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) {
    return make_error(ErrorCode::kIo, file.string() + ": " + std::strerror(errno));
  }
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return make_error(ErrorCode::kRefused, file.string() + ": " + std::string(busy_message));
    }
    return make_error(ErrorCode::kIo, file.string() + ": flock: " + std::strerror(errno));
  }
  return fd;
}

}  // namespace depot

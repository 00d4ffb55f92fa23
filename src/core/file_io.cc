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

Status io_step_error(const std::filesystem::path& file, const char* step, int err) {
  return make_error(ErrorCode::kIo, file.string() + ": " + step + ": " + std::strerror(err));
}

// Writes all of `data` to `fd`, retrying short writes and EINTR; 0 or an errno.
int write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return 0;
}

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

Status write_file_atomic(const std::filesystem::path& file, std::string_view data,
                         std::string_view temp_suffix, mode_t mode) {
  std::filesystem::path tmp = file;
  tmp += std::string(temp_suffix);
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd.valid()) return io_step_error(tmp, "open", errno);
  // Removes the temporary and names the failed step (`err` is read before unlink can change it).
  auto fail = [&tmp](const std::filesystem::path& name, const char* step, int err) {
    ::unlink(tmp.c_str());
    return io_step_error(name, step, err);
  };
  if (int err = write_all(fd.get(), data); err != 0) return fail(tmp, "write", err);
  if (::fsync(fd.get()) != 0) return fail(tmp, "fsync", errno);
  if (::close(fd.release()) != 0) return fail(tmp, "close", errno);
  if (::rename(tmp.c_str(), file.c_str()) != 0) return fail(file, "rename", errno);
  std::filesystem::path dir = file.parent_path();
  return fsync_directory(dir.empty() ? std::filesystem::path(".") : dir);
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

#include "site/job_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "core/unique_fd.h"

namespace depot::site {
namespace {

namespace fs = std::filesystem;

Error io_error(const fs::path& file, const char* what, int err) {
  return make_error(ErrorCode::kIo, file.string() + ": " + what + ": " + std::strerror(err));
}

Status check_name(const fs::path& dir, std::string_view name) {
  const char* why = name.empty()                                ? "empty"
                    : name.find('/') != std::string_view::npos  ? "contains '/'"
                    : name.find('\0') != std::string_view::npos ? "contains a NUL byte"
                    : name[0] == '.'                            ? "starts with '.'"
                                                                : nullptr;
  if (why == nullptr) return ok_status();
  return make_error(ErrorCode::kInvalidArgument,
                    "job log in " + dir.string() + ": job name '" + std::string(name) + "' " + why);
}

// rename(2) that treats a missing source as done.
Status move_if_present(const fs::path& from, const fs::path& to) {
  if (::rename(from.c_str(), to.c_str()) == 0 || errno == ENOENT) return ok_status();
  return io_error(from, "rotating", errno);
}

Status remove_if_present(const fs::path& file) {
  if (::unlink(file.c_str()) == 0 || errno == ENOENT) return ok_status();
  return io_error(file, "removing", errno);
}

Status rotate(const fs::path& current, unsigned keep) {
  auto old = [&current](unsigned i) {
    fs::path p = current;
    p += "." + std::to_string(i);
    return p;
  };
  for (unsigned i = keep + 1; ::access(old(i).c_str(), F_OK) == 0; ++i) {
    DEPOT_TRY(remove_if_present(old(i)));
  }
  if (keep == 0) return remove_if_present(current);
  for (unsigned i = keep - 1; i >= 1; --i) DEPOT_TRY(move_if_present(old(i), old(i + 1)));
  return move_if_present(current, old(1));
}

}  // namespace

Result<JobLog> JobLog::open(const fs::path& dir, std::string_view name, unsigned keep) {
  DEPOT_TRY(check_name(dir, name));
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error(ErrorCode::kIo, dir.string() + ": creating: " + ec.message());
  fs::path current = dir / (std::string(name) + ".log");
  DEPOT_TRY(rotate(current, keep));
  UniqueFd fd(::open(current.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!fd.valid()) return io_error(current, "opening", errno);
  FILE* file = ::fdopen(fd.get(), "a");
  if (file == nullptr) return io_error(current, "fdopen", errno);
  fd.release();
  std::setvbuf(file, nullptr, _IOLBF, 0);
  return JobLog(std::move(current), file);
}

JobLog::JobLog(JobLog&& other) noexcept
    : path_(std::move(other.path_)), file_(std::exchange(other.file_, nullptr)) {}

JobLog& JobLog::operator=(JobLog&& other) noexcept {
  if (this != &other) {
    if (file_ != nullptr) std::fclose(file_);
    path_ = std::move(other.path_);
    file_ = std::exchange(other.file_, nullptr);
  }
  return *this;
}

JobLog::~JobLog() {
  if (file_ != nullptr) std::fclose(file_);
}

Result<std::string> JobLog::tail(const fs::path& dir, std::string_view name, uint64_t max_bytes) {
  DEPOT_TRY(check_name(dir, name));
  fs::path current = dir / (std::string(name) + ".log");
  UniqueFd fd(::open(current.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid() && errno == ENOENT) {
    return make_error(ErrorCode::kNotFound, current.string() + ": no log for this job yet");
  }
  if (!fd.valid()) return io_error(current, "opening", errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return io_error(current, "stat", errno);
  uint64_t size = static_cast<uint64_t>(st.st_size);
  // One byte before the cut is read too, to tell whether the cut fell at a line start.
  uint64_t start = size > max_bytes ? size - max_bytes - 1 : 0;
  std::string out(size - start, '\0');
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n =
        ::pread(fd.get(), out.data() + got, out.size() - got, static_cast<off_t>(start + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error(current, "reading", errno);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  if (size > max_bytes) {
    size_t newline = out.find('\n');
    out.erase(0, newline != std::string::npos && newline + 1 < out.size() ? newline + 1 : 1);
  }
  return out;
}

}  // namespace depot::site

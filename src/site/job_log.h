#pragma once
// Per-job log files under one directory: <dir>/<name>.log is the current run's log, and
// <name>.log.1 ... <name>.log.<keep> the runs before it, newest first. open() rotates and then
// opens a fresh <name>.log for appending; a Logger writes to file() in text or JSON.
// One JobLog per job, used by one thread at a time; tail() may run from any thread, also while
// the job writes (it reads what is on disk).

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/result.h"

namespace depot::site {

class JobLog {
 public:
  // Rotates <name>.log to .log.1, .log.1 to .log.2, ... removing .log.<keep> and any older
  // file beyond `keep` (keep 0: no old runs are kept), creates <dir> when missing and opens a
  // new <name>.log (mode 0640 less the umask, line-buffered). kInvalidArgument for an empty
  // name, one with '/' or a leading '.'; kIo naming the file otherwise.
  static Result<JobLog> open(const std::filesystem::path& dir, std::string_view name,
                             unsigned keep);

  JobLog(JobLog&& other) noexcept;
  JobLog& operator=(JobLog&& other) noexcept;
  JobLog(const JobLog&) = delete;
  JobLog& operator=(const JobLog&) = delete;
  ~JobLog();

  // The open <name>.log, owned by this JobLog; valid until it is destroyed or moved from.
  FILE* file() const { return file_; }
  const std::filesystem::path& path() const { return path_; }

  // The last `max_bytes` of <dir>/<name>.log; when the file is longer, the cut first line is
  // dropped unless that would leave nothing. kNotFound when there is no such log.
  static Result<std::string> tail(const std::filesystem::path& dir, std::string_view name,
                                  uint64_t max_bytes);

 private:
  JobLog(std::filesystem::path path, FILE* file) : path_(std::move(path)), file_(file) {}

  std::filesystem::path path_;
  FILE* file_ = nullptr;
};

}  // namespace depot::site

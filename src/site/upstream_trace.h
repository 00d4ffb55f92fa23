#pragma once
// The upstream archive's Debian trace files, copied into a mirror before it writes its own
// (trace_file.h): ftpsync mirrors project/trace/ whole; depot mirrors dists/ and pool/ over
// HTTP, so it fetches what the checkers read from there: `master` (the archive's serial), the
// upstream's `_hierarchy` (kept as `_hierarchy.mirror`, the chain write_trace extends) and
// every trace the upstream's `_traces` lists. Thread-safe for different trace directories.

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include "core/logger.h"
#include "core/result.h"
#include "transfer/downloader.h"

namespace depot::site {

struct JobConfig;

// The job keeps Debian trace files: its registry asks for them and it writes a local directory.
bool keeps_traces(const JobConfig& job);

struct UpstreamTraceLimits {
  uint64_t max_file_bytes = 64 * 1024;
  size_t max_files = 256;
};

// Copies them from <upstream>/project/trace/ into `trace_dir` (created), each written
// atomically. Best effort: what upstream lacks (404) is skipped, a name that is no valid trace
// name is skipped and logged; an upstream with no trace at all copies nothing. Errors only for
// local writes (naming the file) and for a fetch failing otherwise (naming the URL). Returns
// the number of files copied.
Result<size_t> copy_upstream_traces(Downloader& downloader, const std::string& upstream,
                                    const std::filesystem::path& trace_dir, Logger& log,
                                    const std::shared_ptr<std::atomic<bool>>& cancel = nullptr,
                                    const UpstreamTraceLimits& limits = {});

}  // namespace depot::site

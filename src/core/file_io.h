#pragma once
// Whole-file reads and writes for small local files (fetched index pages, signatures,
// generated pages). Thread-safe (no shared state).

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/unique_fd.h"

namespace depot {

// Reads `file` whole. `name` (the URL or path the content came from) leads every error;
// a file larger than `max_bytes` is refused.
Result<std::string> read_whole_file(const std::filesystem::path& file, std::string_view name,
                                    uint64_t max_bytes = 512ull << 20);

// Creates or truncates `file` and writes `data`.
Status write_whole_file(const std::filesystem::path& file, std::string_view data);

// Replaces `file` with `data` atomically and durably: writes `<file><temp_suffix>`, fsyncs it,
// renames it over `file` and fsyncs the directory. The file gets `mode` less the umask. A reader sees the old or the new content,
// never a part. The temporary is removed on failure. Errors are kIo "<file>: <step>: <reason>".
// Not safe against a concurrent writer of the same `file` (they share the temporary name).
Status write_file_atomic(const std::filesystem::path& file, std::string_view data,
                         std::string_view temp_suffix = ".tmp", mode_t mode = 0644);

// fsync of a directory: makes the renames, links and creations in it durable. Errors are kIo,
// "<dir>: fsync: <reason>".
Status fsync_directory(const std::filesystem::path& dir);
// syncfs of the filesystem holding `dir` (cheaper than fsyncing many files and directories).
// Errors are kIo, "<dir>: syncfs: <reason>".
Status sync_filesystem(const std::filesystem::path& dir);

// Takes an exclusive advisory lock (flock) on `file`, creating it; the lock lasts as long as the
// returned descriptor. kRefused "<file>: <busy_message>" when another process holds it; kIo when
// the file cannot be opened.
Result<UniqueFd> lock_file(const std::filesystem::path& file, std::string_view busy_message);

}  // namespace depot

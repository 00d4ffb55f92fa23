#pragma once
// Compresses bytes with the command-line tools (gzip, xz, bzip2, zstd), for tests of readers of
// compressed indexes. Uses a file in a test's temporary directory.

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/subprocess.h"

namespace depot::testing {

// `data` compressed by `tool` ("gzip", "xz", "bzip2", "zstd"; "cat" leaves it plain) with the
// extra `args`; a test failure and "" when the tool fails.
inline std::string compress_with(const std::filesystem::path& dir, const std::string& tool,
                                 const std::string& data,
                                 const std::vector<std::string>& args = {}) {
  std::filesystem::path in = dir / ("compress-input-" + tool);
  std::ofstream(in, std::ios::binary) << data;
  std::vector<std::string> argv = {tool};
  if (tool != "cat") argv.insert(argv.end(), {"-c", "-q"});
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back(in.string());
  ProcessOptions opts;
  opts.max_output = 1u << 30;
  auto r = run_process(argv, opts);
  std::filesystem::remove(in);
  if (!r.ok() || r->exit_code != 0) {
    ADD_FAILURE() << tool << " failed: " << (r.ok() ? r->err : r.error().message);
    return "";
  }
  return r->out;
}

}  // namespace depot::testing

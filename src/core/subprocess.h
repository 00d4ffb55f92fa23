#pragma once
// Runs a helper program (gpgv, ...) without a shell and collects its output. Thread-safe
// (no shared state); the child gets /dev/null as stdin, the two output pipes, and no other
// descriptor of this process (listening sockets, connections, databases stay here).

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "core/result.h"

namespace depot {

struct ProcessResult {
  int exit_code = -1;  // exit status, or 128 + signal when killed
  std::string out;     // stdout
  std::string err;     // stderr
};

struct ProcessOptions {
  std::chrono::milliseconds timeout{60000};  // killed (SIGKILL) when exceeded
  size_t max_output = 16u << 20;              // per stream; more is an error
  // The child leads a process group of its own, and a timeout or flood kills the whole group:
  // for shell commands whose children must not outlive them (hooks).
  bool own_process_group = false;
  // When set and it becomes true, the child (or its group) is killed and the run is an error.
  const std::atomic<bool>* cancel = nullptr;
};

// Runs argv[0] (looked up in PATH) with `argv`. An error only when it cannot be started, times
// out, is cancelled or floods its output; a non-zero exit is a normal result. Returns once the
// child has exited: output its own children write later (a command's "&") is not waited for.
Result<ProcessResult> run_process(const std::vector<std::string>& argv,
                                  const ProcessOptions& opts = {});

}  // namespace depot

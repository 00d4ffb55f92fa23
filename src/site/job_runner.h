#pragma once
// JobRunner: carries out one run of a scheduled job. The site service calls it on the run's
// own thread; cli/ implements it with the mirror engine (opening the job's target as `depot
// mirror` does), tests with a script. Implementations must be thread-safe: several jobs run at
// once, each with its own call.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/logger.h"
#include "site/site_config.h"

namespace depot::site {

struct RunProgress {
  std::string phase;  // "snapshot", "download", "commit", "cleanup"
  uint64_t files_done = 0, files_total = 0, bytes_done = 0;
};

struct RunOutcome {
  int exit_code = 0;  // `depot mirror`'s exit codes: 0 complete, 1 files failed, ...
  std::string error;  // the reason when not 0: the run's error, else the first failed file
  uint64_t files = 0, bytes = 0;              // downloaded
  uint64_t total_files = 0, total_bytes = 0;  // the upstream state's, as mirrored
  bool cancelled = false;                     // cut off by `cancel`
};

class JobRunner {
 public:
  virtual ~JobRunner() = default;
  // Runs `job` once. When `*cancel` becomes true the run stops as soon as it can, leaving the
  // job's tree on its last consistent generation. `log` is the job's own log.
  virtual RunOutcome run(const JobConfig& job, const std::shared_ptr<std::atomic<bool>>& cancel,
                         Logger& log, const std::function<void(const RunProgress&)>& progress) = 0;
};

}  // namespace depot::site

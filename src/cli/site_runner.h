#pragma once
// The JobRunner of `depot run`: each run is one pass of the mirror engine in this process,
// with the job's registry options and engine settings, its target opened as `depot mirror`
// opens one, and every download given the run's cancel flag. Thread-safe: runs share nothing.

#include <memory>

#include "core/clock.h"
#include "site/job_runner.h"

namespace depot {

std::unique_ptr<site::JobRunner> make_mirror_job_runner(Clock& clock);

}  // namespace depot

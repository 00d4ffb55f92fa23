#pragma once
// Process exit codes of every `depot` subcommand (documented in `depot mirror --help`).

#include "mirror/engine.h"

namespace depot {

enum ExitCode : int {
  kExitComplete = 0,       // done: the mirror equals the upstream state, the request succeeded
  kExitFilesFailed = 1,    // some files failed after retries; previous index kept
  kExitUsage = 2,          // bad command line or configuration
  kExitUpstream = 3,       // upstream index unreachable, malformed or hostile; nothing changed
  kExitDeleteRefused = 4,  // new index committed; stale removal refused by the guard
  kExitStorage = 5,        // local storage or state database failure
  kExitBusy = 6,           // another process holds the directory lock
};

// The exit code of `depot mirror` for a run that ended so: the outcome's value, which the
// engine keeps equal to these codes (state.db stores it).
inline int exit_code_for(MirrorOutcome outcome) { return static_cast<int>(outcome); }
static_assert(static_cast<int>(MirrorOutcome::kComplete) == kExitComplete &&
              static_cast<int>(MirrorOutcome::kFilesFailed) == kExitFilesFailed &&
              static_cast<int>(MirrorOutcome::kBadRequest) == kExitUsage &&
              static_cast<int>(MirrorOutcome::kUpstream) == kExitUpstream &&
              static_cast<int>(MirrorOutcome::kDeleteRefused) == kExitDeleteRefused &&
              static_cast<int>(MirrorOutcome::kStorage) == kExitStorage &&
              static_cast<int>(MirrorOutcome::kBusy) == kExitBusy);

}  // namespace depot

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

// The exit code of `depot mirror` for a run that ended so.
inline int exit_code_for(MirrorOutcome outcome) {
  switch (outcome) {
    case MirrorOutcome::kComplete:
      return kExitComplete;
    case MirrorOutcome::kFilesFailed:
      return kExitFilesFailed;
    case MirrorOutcome::kBadRequest:
      return kExitUsage;
    case MirrorOutcome::kUpstream:
      return kExitUpstream;
    case MirrorOutcome::kDeleteRefused:
      return kExitDeleteRefused;
    case MirrorOutcome::kStorage:
      return kExitStorage;
    case MirrorOutcome::kBusy:
      return kExitBusy;
  }
  return kExitStorage;
}

}  // namespace depot

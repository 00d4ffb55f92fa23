#pragma once
// The mirror engine: snapshot -> diff -> transfer -> staged commit -> stale removal -> record.
// The consistency rule holds at every instant: an index commits only after every file it
// names is committed and verified; if any file fails, no index of the run commits and the
// previous generation stays. One run per state directory at a time (an flock on its lock
// file). The engine is handed its collaborators (the source, the target, a downloader factory):
// tests hand it an in-memory target and a scripted downloader.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/logger.h"
#include "mirror/committer.h"
#include "sources/source.h"
#include "transfer/downloader.h"

namespace depot {

// How a run ended. cli/ maps each to a process exit code; the values are what state.db's
// runs.exit_code column holds, so they never change.
enum class MirrorOutcome : int {
  kComplete = 0,       // the mirror equals the upstream state
  kFilesFailed = 1,    // some files failed after retries; previous index kept
  kBadRequest = 2,     // unknown registry kind or options the registry refuses
  kUpstream = 3,       // upstream index unreachable, malformed or hostile; nothing changed
  kDeleteRefused = 4,  // new index committed; stale removal refused by the guard
  kStorage = 5,        // local storage or state database failure
  kBusy = 6,           // another run holds the directory lock
};

struct MirrorOptions {
  std::string kind;              // recorded with each run
  std::string upstream;          // recorded with each run
  // Private local directory of this mirror: lock, state.db, scratch and source state files
  // (`<dir>/.depot` for a tree on disk).
  std::filesystem::path state_dir;
  // Recreate state.db from a listing of the target: files found there are verified against
  // the upstream's digests (adopted), not downloaded again.
  bool rebuild_state = false;
  DownloadOptions download;
  bool no_delete = false;
  bool force = false;            // allow removals beyond the guard
  double delete_limit = 0.5;     // max share of mirrored files one run may remove
  uint64_t delete_floor = 10;    // removals up to this many files are always allowed
  // Download loops (threads, each with its own connections) sharing the per-host limits.
  size_t transfer_threads = 2;
  BatchLimits batch;             // blob commit batches (committed in the background)
  // Superseded index files the source keeps (apt: under dists/, by-hash files above all) stay
  // this long, so a client holding the previous root can still fetch what it names.
  std::chrono::seconds index_grace = std::chrono::hours(24);
  // Files below these prefixes ("project/trace/") belong to someone else (a site's trace
  // files): never stale, never removed.
  std::vector<std::string> foreign_prefixes;
  // Cap on an index file whose size the source does not know (roots, PyPI pages).
  uint64_t max_index_size = 2ull << 30;
};

struct FailedFile {
  std::string path;
  std::string reason;
};

struct MirrorReport {
  MirrorOutcome outcome = MirrorOutcome::kComplete;
  std::string error;  // the run-level reason when not kComplete
  uint64_t files_total = 0;
  uint64_t bytes_total = 0;  // of the upstream state's files whose size the source declares
  uint64_t files_downloaded = 0;
  uint64_t bytes_downloaded = 0;
  uint64_t files_unchanged = 0;
  uint64_t files_adopted = 0;  // found on disk unrecorded, verified by hashing
  uint64_t indexes_written = 0;
  uint64_t files_removed = 0;
  uint64_t stale_kept = 0;
  uint64_t stale_in_grace = 0;  // superseded index files kept for the grace period
  std::vector<FailedFile> failed;
  bool indexes_committed = false;
  double seconds = 0;
};

struct MirrorProgress {
  const char* phase = "";  // "snapshot", "download", "commit", "cleanup"
  uint64_t files_done = 0, files_total = 0;
  uint64_t bytes_done = 0, bytes_total = 0;
  int active = 0;
};

using MirrorProgressFn = std::function<void(const MirrorProgress&)>;

// What a run works with. Each must outlive run_mirror.
struct MirrorParts {
  Source& source;
  Target& target;
  DownloaderFactory make_downloader;
};

// Runs one mirror pass. Never throws for outside failures: they are in the report.
MirrorReport run_mirror(const MirrorOptions& options, const MirrorParts& parts, Logger& logger,
                        Clock& clock, const MirrorProgressFn& progress = nullptr);

}  // namespace depot

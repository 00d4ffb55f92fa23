#pragma once
// What people look at: the status of a site's jobs as /_depot/status.json (tunasync's fields,
// so an existing mirror front page reads it unchanged, plus depot's own) and as Prometheus
// series for /metrics. Pure functions of a snapshot: thread-safe.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "site/history.h"
#include "site/schedule.h"

namespace depot::site {

struct JobStatus {
  std::string name, registry, upstream, dest;
  // Where the server serves the tree, relative to its root ("debian/"); "" if it does not.
  std::string path;
  // tunasync's: none (never ran), success, failed, syncing, paused, disabled.
  std::string status = "none";
  bool queued = false;                  // due, waiting for a free slot
  std::optional<WallTime> last_update;  // end of the last successful run
  std::optional<WallTime> last_started, last_ended, next_schedule;
  std::optional<RunRecord> last;       // the last finished run
  std::optional<RunRecord> last_good;  // the last successful run
  std::vector<RunRecord> runs;         // the last runs, oldest first
  // While syncing: the run's progress.
  std::string phase;
  uint64_t progress_files = 0, progress_files_total = 0, progress_bytes = 0;
  // Runs since the process started, by result (success, failed, cancelled).
  std::map<std::string, uint64_t> runs_total;
};

// A time that never happened (no success yet; no next run while syncing, paused or disabled), as
// tunasync writes it: Go's zero time, 0001-01-01 00:00:00 UTC.
inline constexpr const char* kTunasyncNever = "0001-01-01 00:00:00 +0000";
inline constexpr int64_t kTunasyncNeverTs = -62135596800;

// A JSON array, one object per job: name, status, is_master, upstream, size, last_update(_ts),
// last_started(_ts), last_ended(_ts), next_schedule(_ts) as tunasync writes them ("2006-01-02
// 15:04:05 +0000" and Unix seconds; kTunasyncNever(Ts) for never), then registry, dir, path,
// files, bytes, duration, error, exit_code, queued, progress and runs (oldest first; a running
// run's ended_ts is 0).
std::string render_status_json(const std::vector<JobStatus>& jobs);

// Prometheus text series per job: depot_job_last_success_timestamp_seconds,
// depot_job_last_duration_seconds, depot_job_last_downloaded_bytes, depot_job_size_bytes,
// depot_job_files, depot_job_status{status=...} (1 for the current one), depot_job_running,
// depot_job_runs_total{result=...}.
std::string render_job_metrics(const std::vector<JobStatus>& jobs);

// "2026-12-05 03:00:00 +0000".
std::string tunasync_time(WallTime t);

}  // namespace depot::site

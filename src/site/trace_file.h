#pragma once
// Debian mirror trace files, as ftpsync (archvsync 20180513 and later) writes them after each
// successful sync, so Debian's mirror checkers (dmt/mirror-status) see the mirror's freshness:
//
//   project/trace/<site>         "Key: value" lines after a `date -u` line (format below)
//   project/trace/_hierarchy     the upstream's _hierarchy.mirror plus our line
//                                "<site> <site> <host> <upstream>"; copied to _hierarchy.mirror
//   project/trace/_traces        names of the trace files (not "_*", not temporaries), oldest first
//
// Not written here: project/trace/master (the archive's own trace, copied from upstream by
// upstream_trace.h with the upstream's other traces, from which "Archive serial" is read), the
// "-stage1" trace (depot has no two-stage rsync), and the
// Archive-Update-in-Progress/-Required files (the sync lock, the caller's business).
// Local mirror directories only: an S3 or cluster target has no place for them here.
// Thread-safe for different mirror directories; one writer per mirror directory at a time.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace depot::site {

using WallTime = std::chrono::system_clock::time_point;

struct TraceInfo {
  WallTime started;                // "Date-Started:"
  WallTime ended;                  // first line and "Date:"
  std::string software = "depot";  // "Creator:", e.g. "depot 0.1.0"
  std::string host;                // "Running on host:", the machine's full hostname
  std::string archive_serial;      // empty: taken from project/trace/master if present
  std::string maintainer, sponsor, country, location, throughput, trigger;  // when not empty
  std::vector<std::string> architectures;  // "Architectures:" (held), when not empty
  std::vector<std::string> arch_include;   // "Architectures-Configuration: INCLUDE ..."
  std::vector<std::string> arch_exclude;   // ... "EXCLUDE ..."; both empty: "ALL"
  std::string upstream;                    // "Upstream-mirror:" host; empty: "unknown"
  uint64_t bytes = 0;                      // "Total bytes received in rsync:", when > 0
  double seconds = 0;                      // "Total time spent in rsync:", whole seconds
};

// `date -u` in the POSIX locale, "Thu Aug 31 00:00:00 UTC 2017" (day space-padded).
std::string posix_date(WallTime t);
// `date -u -R`, RFC 2822: "Thu, 31 Aug 2017 00:00:00 +0000".
std::string rfc2822_date(WallTime t);

// The trace file's text. The statistics keep ftpsync's "rsync" key names, which the checkers
// read, and hold depot's transfer. "Used ftpsync version:" is not written: depot is not
// ftpsync, and dmt reads "Creator:" first. Line breaks in values become spaces.
std::string render_trace(const TraceInfo& info);

// A trace file name: [A-Za-z0-9._-], not starting with '.', '-' or '_', no "..", not "master",
// not ending in ".new" or "-stage1" (names the checkers skip or the archive owns).
Status check_site_name(std::string_view site);

// Writes <mirror_dir>/project/trace/<site> (creating project/trace), then _hierarchy,
// _hierarchy.mirror and _traces, each atomically (temporary "<name>.new", which the checkers
// skip). Errors name the file and the cause: kInvalidArgument for a bad site name, kNotFound
// when `mirror_dir` is not a directory, kIo otherwise.
Status write_trace(const std::filesystem::path& mirror_dir, std::string_view site,
                   const TraceInfo& info);

}  // namespace depot::site

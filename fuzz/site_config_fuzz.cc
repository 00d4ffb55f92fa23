// A site's depot.toml (site/site_config.h) as an operator could write it: parse_site_config on
// the input, and its first line through Schedule::parse in UTC and in a zone with
// daylight-saving changes. A refused file lists problems that each start "FILE:LINE: "; an
// accepted one has valid job names, no two jobs on one directory, and schedules whose next time
// lies strictly after the time asked from.

#include <chrono>
#include <set>
#include <string>

#include "fuzz_util.h"
#include "site/site_config.h"

namespace {

using depot::fuzz::check;
using depot::site::Schedule;
using depot::site::WallTime;

// 2026-03-29 00:30 UTC, before Europe's spring change, and a year later.
const WallTime kFrom = std::chrono::sys_days{std::chrono::year{2026} / 3 / 29} +
                       std::chrono::minutes{30};

void check_schedule(const Schedule& s) {
  WallTime t = kFrom;
  for (int i = 0; i < 3; ++i) {
    const WallTime next = s.next_after(t);
    check(next > t || next == WallTime::max(), "schedule: next time not after the time asked");
    if (next == WallTime::max()) return;
    t = next;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = depot::fuzz::as_text(data, size);
  const std::string_view first = text.substr(0, text.find('\n'));
  for (const char* zone : {"", "Europe/Berlin"}) {
    auto s = Schedule::parse(first, zone);
    if (s.ok()) check_schedule(*s);
  }
  auto cfg = depot::site::parse_site_config(text, "/etc/depot.toml");
  if (!cfg.ok()) {
    const std::string& m = cfg.error().message;
    check(!m.empty(), "site_config: an empty error");
    for (size_t at = 0; at < m.size(); at = m.find('\n', at) + 1) {
      check(m.compare(at, 16, "/etc/depot.toml:") == 0, "site_config: a problem without FILE:");
      if (m.find('\n', at) == std::string::npos) break;
    }
    return 0;
  }
  std::set<std::string> dests;
  for (const depot::site::JobConfig& j : cfg->jobs) {
    check(depot::site::valid_job_name(j.name), "site_config: an invalid job name accepted");
    check(dests.insert(j.dest).second, "site_config: two jobs on one directory accepted");
    check_schedule(j.schedule);
  }
  return 0;
}

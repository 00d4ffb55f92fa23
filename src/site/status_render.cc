#include "site/status_render.h"

#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "core/units.h"
#include "transfer/http_util.h"

namespace depot::site {
namespace {

using Json = nlohmann::ordered_json;

int64_t seconds_of(WallTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// 0 for never: depot's own fields and /metrics.
int64_t seconds_of(const std::optional<WallTime>& t) { return t ? seconds_of(*t) : 0; }

double duration_of(const RunRecord& r) {
  if (!r.ended) return 0;
  return std::chrono::duration<double>(*r.ended - r.started).count();
}

// A tunasync time field and its _ts twin; never is Go's zero time, as tunasync writes it.
void put_time(Json& j, const char* key, const std::optional<WallTime>& t) {
  j[key] = t ? tunasync_time(*t) : kTunasyncNever;
  j[std::string(key) + "_ts"] = t ? seconds_of(*t) : kTunasyncNeverTs;
}

Json run_json(const RunRecord& r) {
  Json j;
  j["started_ts"] = seconds_of(r.started);
  j["ended_ts"] = seconds_of(r.ended);
  j["result"] = r.result;
  j["files"] = r.files;
  j["bytes"] = r.bytes;
  j["duration"] = duration_of(r);
  j["exit_code"] = r.exit_code;
  j["error"] = redact_credentials(r.error);
  return j;
}

Json job_json(const JobStatus& s) {
  Json j;
  j["name"] = s.name;
  j["status"] = s.status;
  j["is_master"] = true;
  j["upstream"] = redact_credentials(s.upstream);
  uint64_t size = s.last_good ? s.last_good->total_bytes : 0;
  j["size"] = size > 0 ? format_bytes(size) : "unknown";
  put_time(j, "last_update", s.last_update);
  put_time(j, "last_started", s.last_started);
  put_time(j, "last_ended", s.last_ended);
  put_time(j, "next_schedule", s.next_schedule);
  j["registry"] = s.registry;
  j["dir"] = s.dest;
  j["path"] = s.path;
  j["size_bytes"] = size;
  j["total_files"] = s.last_good ? s.last_good->total_files : 0;
  j["files"] = s.last ? s.last->files : 0;
  j["bytes"] = s.last ? s.last->bytes : 0;
  j["duration"] = s.last ? duration_of(*s.last) : 0.0;
  j["error"] = s.last ? redact_credentials(s.last->error) : "";
  j["exit_code"] = s.last ? s.last->exit_code : 0;
  j["queued"] = s.queued;
  if (s.status == "syncing") {
    j["progress"] = {{"phase", s.phase},
                     {"files", s.progress_files},
                     {"files_total", s.progress_files_total},
                     {"bytes", s.progress_bytes}};
  }
  Json runs = Json::array();
  for (const RunRecord& r : s.runs) runs.push_back(run_json(r));
  j["runs"] = std::move(runs);
  return j;
}

// One gauge family: HELP, TYPE, then a line per job.
template <typename Fn>
void family(std::string& out, const char* name, const char* type, const char* help,
            const std::vector<JobStatus>& jobs, Fn value) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  for (const JobStatus& s : jobs)
    value(s, [&](const std::string& labels, double v) {
      char num[64];
      std::snprintf(num, sizeof num, "%.17g", v);
      out += std::string(name) + "{job=\"" + s.name + "\"" + labels + "} " + num + "\n";
    });
}

}  // namespace

std::string tunasync_time(WallTime t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S +0000", &tm);
  return buf;
}

std::string render_status_json(const std::vector<JobStatus>& jobs) {
  Json all = Json::array();
  for (const JobStatus& s : jobs) all.push_back(job_json(s));
  return all.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string render_job_metrics(const std::vector<JobStatus>& jobs) {
  using Emit = std::function<void(const std::string&, double)>;
  std::string out;
  family(out, "depot_job_last_success_timestamp_seconds", "gauge",
         "End of the job's last successful run (Unix seconds; 0: never).", jobs,
         [](const JobStatus& s, const Emit& e) {
           e("", static_cast<double>(seconds_of(s.last_update)));
         });
  family(out, "depot_job_last_duration_seconds", "gauge", "Duration of the job's last run.", jobs,
         [](const JobStatus& s, const Emit& e) { e("", s.last ? duration_of(*s.last) : 0.0); });
  family(out, "depot_job_last_downloaded_bytes", "gauge", "Bytes the job's last run downloaded.",
         jobs, [](const JobStatus& s, const Emit& e) {
           e("", s.last ? static_cast<double>(s.last->bytes) : 0.0);
         });
  family(out, "depot_job_size_bytes", "gauge", "Size of the mirror after its last successful run.",
         jobs, [](const JobStatus& s, const Emit& e) {
           e("", s.last_good ? static_cast<double>(s.last_good->total_bytes) : 0.0);
         });
  family(out, "depot_job_files", "gauge", "Files of the mirror after its last successful run.",
         jobs, [](const JobStatus& s, const Emit& e) {
           e("", s.last_good ? static_cast<double>(s.last_good->total_files) : 0.0);
         });
  family(out, "depot_job_status", "gauge", "The job's status: 1 for the current one.", jobs,
         [](const JobStatus& s, const Emit& e) {
           for (const char* st : {"none", "success", "failed", "syncing", "paused", "disabled"}) {
             e(std::string(",status=\"") + st + "\"", s.status == st ? 1 : 0);
           }
         });
  family(out, "depot_job_running", "gauge", "1 while the job runs.", jobs,
         [](const JobStatus& s, const Emit& e) { e("", s.status == "syncing" ? 1 : 0); });
  family(out, "depot_job_runs_total", "counter", "Runs since the process started, by result.", jobs,
         [](const JobStatus& s, const Emit& e) {
           for (const char* r : {"success", "failed", "cancelled"}) {
             auto it = s.runs_total.find(r);
             e(std::string(",result=\"") + r + "\"",
               it == s.runs_total.end() ? 0.0 : static_cast<double>(it->second));
           }
         });
  return out;
}

}  // namespace depot::site

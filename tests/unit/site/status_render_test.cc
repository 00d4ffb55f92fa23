#include "site/status_render.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace depot::site {
namespace {

using Json = nlohmann::json;

WallTime at(int64_t secs) { return WallTime(std::chrono::seconds(secs)); }

Json render_one(const JobStatus& s) {
  Json all = Json::parse(render_status_json({s}));
  EXPECT_EQ(all.size(), 1u);
  return all.at(0);
}

TEST(StatusRenderTest, NeverIsGosZeroTimeAsTunasyncWritesIt) {
  JobStatus s;
  s.name = "debian";
  Json j = render_one(s);
  for (const char* key : {"last_update", "last_started", "last_ended", "next_schedule"}) {
    EXPECT_EQ(j[key], "0001-01-01 00:00:00 +0000") << key;
    EXPECT_EQ(j[std::string(key) + "_ts"], -62135596800) << key;
  }
  EXPECT_EQ(j["status"], "none");
  EXPECT_EQ(j["size"], "unknown");
}

TEST(StatusRenderTest, SyncingJobHasNoNextScheduleButItsStart) {
  JobStatus s;
  s.name = "debian";
  s.status = "syncing";
  s.last_started = at(1'764'903'600);  // 2025-12-05 03:00:00 UTC
  RunRecord r;
  r.started = at(1'764'903'600);
  s.runs.push_back(r);
  Json j = render_one(s);
  EXPECT_EQ(j["last_started"], "2025-12-05 03:00:00 +0000");
  EXPECT_EQ(j["last_started_ts"], 1'764'903'600);
  EXPECT_EQ(j["next_schedule_ts"], kTunasyncNeverTs);
  EXPECT_EQ(j["runs"][0]["ended_ts"], 0) << "depot's own fields keep 0 for never";
}

TEST(StatusRenderTest, TimesThatHappenedAreUtcTextAndUnixSeconds) {
  JobStatus s;
  s.name = "debian";
  s.status = "success";
  s.last_update = at(0);  // the epoch itself happened
  s.next_schedule = at(86'400 + 61);
  Json j = render_one(s);
  EXPECT_EQ(j["last_update"], "1970-01-01 00:00:00 +0000");
  EXPECT_EQ(j["last_update_ts"], 0);
  EXPECT_EQ(j["next_schedule"], "1970-01-02 00:01:01 +0000");
  EXPECT_EQ(j["next_schedule_ts"], 86'461);
}

TEST(StatusRenderTest, MetricsSayZeroForNeverSucceeded) {
  JobStatus s;
  s.name = "debian";
  std::string m = render_job_metrics({s});
  EXPECT_NE(m.find("depot_job_last_success_timestamp_seconds{job=\"debian\"} 0\n"),
            std::string::npos)
      << m;
}

}  // namespace
}  // namespace depot::site

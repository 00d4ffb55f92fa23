#include "site/site_routes.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/temp_dir.h"

namespace depot::site {
namespace {

class OkRunner final : public JobRunner {
 public:
  RunOutcome run(const JobConfig&, const std::shared_ptr<std::atomic<bool>>&, Logger&,
                 const std::function<void(const RunProgress&)>&) override {
    return {};
  }
};

class SiteRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SiteConfig c;
    c.file = dir.path() / "depot.toml";
    c.state_dir = dir.path() / "state";
    c.log_dir = dir.path() / "logs";
    JobConfig j;
    j.name = "debian";
    j.registry = "apt";
    j.upstream = "http://deb.example/debian";
    j.dest = (dir.path() / "debian").string();
    c.jobs.push_back(j);
    auto s = SiteService::open(c, runner, clock, null_logger());
    ASSERT_TRUE(s.ok()) << s.error().message;
    service = std::move(*s);
  }
  pool::ControlResponse call(const std::string& method, const std::string& target) {
    return site_control(*service, [this] { return reload_result; }, {method, target, ""});
  }

  testing::TempDir dir;
  FakeClock clock;
  OkRunner runner;
  std::unique_ptr<SiteService> service;
  Status reload_result;
};

TEST_F(SiteRoutesTest, ServesStatusJsonThePageAndMetrics) {
  SiteRoutes routes(*service);
  auto json = routes.page("/_depot/status.json?t=1");
  ASSERT_TRUE(json.has_value());
  EXPECT_EQ(json->content_type, "application/json");
  auto parsed = nlohmann::json::parse(json->body);
  ASSERT_EQ(parsed.size(), 1u);
  EXPECT_EQ(parsed[0]["name"], "debian");
  EXPECT_EQ(parsed[0]["status"], "none");
  auto page = routes.page("/_depot/");
  ASSERT_TRUE(page.has_value());
  EXPECT_NE(page->body.find("status.json"), std::string::npos);
  bool csp = false;
  for (const auto& [k, v] : page->fields) csp |= k == "Content-Security-Policy";
  EXPECT_TRUE(csp);
  EXPECT_EQ(routes.page("/_depot/index.html")->body, page->body);
  EXPECT_EQ(routes.page("/_depot")->redirect, "/_depot/");
  EXPECT_FALSE(routes.page("/debian/dists/").has_value());
  EXPECT_FALSE(routes.page("/_depot/other").has_value());
  EXPECT_NE(routes.metrics().find("depot_job_status{job=\"debian\",status=\"none\"} 1"),
            std::string::npos);
}

TEST_F(SiteRoutesTest, ControlRoutes) {
  EXPECT_EQ(call("GET", "/site/jobs").status, 200);
  EXPECT_EQ(call("POST", "/site/jobs/debian/stop").status, 200);
  EXPECT_EQ(call("POST", "/site/jobs/nope/stop").status, 404);
  EXPECT_EQ(call("POST", "/site/jobs/debian/explode").status, 400);
  EXPECT_EQ(call("GET", "/site/jobs/debian/start").status, 405);
  EXPECT_EQ(call("GET", "/site/jobs/debian/log").status, 404);  // no run yet: no log
  EXPECT_EQ(call("GET", "/elsewhere").status, 404);
  EXPECT_EQ(call("POST", "/site/reload").status, 200);
  reload_result = make_error(ErrorCode::kInvalidArgument, "depot.toml:3: x: unknown key");
  auto bad = call("POST", "/site/reload");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("unknown key"), std::string::npos);
}

}  // namespace
}  // namespace depot::site

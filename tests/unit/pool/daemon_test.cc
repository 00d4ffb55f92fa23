#include "pool/daemon.h"

#include <gtest/gtest.h>

#include <future>
#include <nlohmann/json.hpp>

#include "support/temp_dir.h"

namespace depot::pool {
namespace {

using depot::testing::TempDir;
using json = nlohmann::json;

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DaemonOptions opts;
    opts.root = dir_.path() / "root";
    opts.workers = 1;
    auto d = Daemon::open(opts, logger_);
    ASSERT_TRUE(d.ok()) << d.error().to_string();
    daemon_ = std::move(*d);
  }
  // Starts handle() and returns the future of its answer.
  std::future<ControlResponse> ask(const std::string& method, const std::string& target,
                                   const std::string& body = "") {
    auto answer = std::make_shared<std::promise<ControlResponse>>();
    std::future<ControlResponse> out = answer->get_future();
    daemon_->handle(ControlRequest{method, target, body},
                    [answer](ControlResponse r) { answer->set_value(std::move(r)); });
    return out;
  }
  ControlResponse call(const std::string& method, const std::string& target,
                       const std::string& body = "") {
    std::future<ControlResponse> f = ask(method, target, body);
    if (f.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
      ADD_FAILURE() << method << " " << target << ": no answer";
      return {0, ""};
    }
    return f.get();
  }
  // The "error" message of a response, or "" when it has none.
  static std::string error_of(const ControlResponse& r) {
    json j = json::parse(r.body, nullptr, false);
    return j.is_object() && j.contains("error") && j["error"].is_string()
               ? j["error"].get<std::string>()
               : "";
  }

  TempDir dir_;
  Logger logger_{LogLevel::kError};
  std::unique_ptr<Daemon> daemon_;
};

struct BadRequest {
  const char* method;
  const char* target;
  const char* body;
  const char* field;  // named in the error
};

// A request that waits for its job is answered when the job ends; handle() itself returns at
// once, so no thread waits for the job.
TEST_F(DaemonTest, WaitingRequestsAreAnsweredWhenTheirJobEnds) {
  std::future<ControlResponse> created = ask("POST", "/repos", R"({"name":"main"})");
  EXPECT_EQ(created.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
  ASSERT_TRUE(daemon_->start().ok());
  ASSERT_EQ(created.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  ControlResponse r = created.get();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["result"]["created"], true) << r.body;

  r = call("POST", "/repos", R"({"name":"second","wait":false})");
  EXPECT_EQ(r.status, 202) << r.body;
  r = call("GET", "/jobs?state=done&limit=1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body).size(), 1u);

  std::future<ControlResponse> pending = ask("POST", "/repos/main/publish");
  daemon_->stop();  // the job may not run: the waiting request is answered anyway
  ASSERT_EQ(pending.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  int status = pending.get().status;
  EXPECT_TRUE(status == 202 || status == 200 || status == 422) << status;
}

TEST_F(DaemonTest, WrongTypesAre400NamingTheField) {
  const BadRequest cases[] = {
      {"POST", "/repos", R"({"name":5})", "name"},
      {"POST", "/repos", R"({})", "name"},
      {"POST", "/repos", R"({"name":"ok","wait":"yes"})", "wait"},
      {"POST", "/repos", R"({"name":"ok","extra":1})", "extra"},
      {"POST", "/repos/main/import", R"({"files":"a.deb"})", "files"},
      {"POST", "/repos/main/import", R"({"files":["a.deb",7]})", "files"},
      {"POST", "/repos/main/import", R"({"files":[]})", "files"},
      {"POST", "/repos/main/pull", R"({"from":["x"]})", "from"},
      {"POST", "/repos/main/pull", R"({"from":"no/such"})", "from"},
      {"POST", "/repos/main/promote", R"({"from":"x","packages":["a"],"with_deps":1})",
       "with_deps"},
      {"POST", "/repos/main/promote", R"({"from":"x","packages":"a"})", "packages"},
      {"POST", "/repos/main/promote", R"({"from":"x","packages":["a"],"dry_run":1})",
       "dry_run"},
      {"POST", "/repos/main/promote", R"({"from":"x","packages":["a"],"allow_unresolved":0})",
       "allow_unresolved"},
      {"POST", "/repos/main/pull", R"({"from":"x","dry_run":"yes"})", "dry_run"},
      {"POST", "/repos", R"({"name":"ok","bases":{}})", "bases"},
      {"POST", "/repos",
       R"({"name":"ok","bases":[{"url":"rel/dir","dist":"d","components":["m"]}]})",
       "absolute directory"},
      {"POST", "/repos", R"({"name":"ok","bases":[{"url":"/m","dist":"d"}]})", "components"},
      {"POST", "/repos",
       R"({"name":"ok","bases":[{"url":"/m","dist":"d","components":["m"],"x":1}]})", "x"},
      {"POST", "/repos/main/bases", R"({"bases":[{"url":"/m","dist":"../..","components":["m"]}]})",
       "distribution"},
      {"POST", "/repos/main/snapshots", R"({"name":{}})", "name"},
      {"POST", "/repos/main/rollback", R"({"snapshot":null})", "snapshot"},
      {"POST", "/gc", R"({"dry_run":"no"})", "dry_run"},
      {"GET", "/jobs?limit=abc", "", "limit"},
      {"GET", "/jobs?limit=-1", "", "limit"},
      {"GET", "/jobs?limit=99999999999999999999999", "", "limit"},
      {"GET", "/jobs?state=sleeping", "", "state"},
      {"GET", "/jobs?colour=blue", "", "colour"},
      {"GET", "/jobs/abc", "", "abc"},
      {"GET", "/jobs/12abc", "", "12abc"},
  };
  for (const BadRequest& c : cases) {
    ControlResponse r = call(c.method, c.target, c.body);
    EXPECT_EQ(r.status, 400) << c.method << " " << c.target << " " << c.body << ": " << r.body;
    EXPECT_NE(error_of(r).find(c.field), std::string::npos)
        << c.target << " " << c.body << ": " << r.body;
  }
  for (const char* body : {"[1,2]", "{\"name\":", "\xff", "5"}) {
    EXPECT_EQ(call("POST", "/repos", body).status, 400) << body;
  }
}

TEST_F(DaemonTest, BasesAreStoredShownAndReplaced) {
  ASSERT_TRUE(daemon_->start().ok());
  json base{{"url", "/srv/mirror"}, {"dist", "bookworm"}, {"components", {"main", "contrib"}}};
  ControlResponse r = call("POST", "/repos", json{{"name", "main"}, {"bases", {base}}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  r = call("GET", "/repos/main");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["bases"], json::array({base})) << r.body;
  r = call("POST", "/repos/main/bases", R"({"bases":[]})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(call("GET", "/repos/main").body)["bases"], json::array());
  EXPECT_EQ(call("GET", "/repos/nope").status, 404);
}

TEST_F(DaemonTest, DryRunsAreJobsOfTheirOwnKindThatPublishNothing) {
  ASSERT_TRUE(daemon_->start().ok());
  ASSERT_EQ(call("POST", "/repos", R"({"name":"main"})").status, 200);
  ASSERT_EQ(call("POST", "/repos", R"({"name":"src"})").status, 200);
  for (const char* action : {"pull", "promote"}) {
    std::string body = std::string(action) == "pull"
                           ? R"({"from":"src","dry_run":true})"
                           : R"({"from":"src","packages":["x"],"dry_run":true})";
    ControlResponse r = call("POST", std::string("/repos/main/") + action, body);
    json j = json::parse(r.body);
    EXPECT_EQ(j["kind"], std::string(action) + "_dry_run") << r.body;
    if (std::string(action) == "pull") {
      ASSERT_EQ(r.status, 200) << r.body;
      EXPECT_EQ(j["result"]["dry_run"], true) << r.body;
      EXPECT_FALSE(j["result"].contains("published")) << r.body;
    } else {
      EXPECT_EQ(r.status, 422) << r.body;  // src holds no x: the same answer as without dry_run
    }
  }
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "root" / "public" / "main"));
}

TEST_F(DaemonTest, MessagesQuoteAShortEscapedPrefixOfClientText) {
  std::string long_name = "\x1b[31m\"" + std::string(4000, 'A');
  const ControlResponse answers[] = {
      call("POST", "/repos", json{{"name", long_name}}.dump()),
      call("GET", "/" + std::string(20000, 'x')),
      call("GET", "/jobs?state=" + std::string(20000, 's')),
      call("GET", "/repos/" + std::string(20000, 'r') + "/packages"),
      call("POST", "/repos", json{{std::string(5000, 'k'), 1}, {"name", "a"}}.dump()),
  };
  for (const ControlResponse& r : answers) {
    EXPECT_TRUE(r.status == 400 || r.status == 404) << r.body.substr(0, 200);
    std::string message = error_of(r);
    EXPECT_FALSE(message.empty()) << r.body.substr(0, 200);
    EXPECT_LT(message.size(), 200u) << message.substr(0, 300);
    EXPECT_EQ(message.find('\x1b'), std::string::npos) << message;
  }
  EXPECT_NE(error_of(answers[0]).find(R"("\x1b[31m\"AAA)"), std::string::npos)
      << error_of(answers[0]);
}

// A body with more JSON values than any request needs is refused before it becomes a document.
TEST_F(DaemonTest, BodiesWithTooManyValuesAreRefused) {
  std::string zeros = R"({"files":[)";
  for (int i = 0; i < 400000; ++i) zeros += "0,";
  zeros += "0]}";
  ControlResponse r = call("POST", "/repos/main/import", zeros);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(error_of(r).find("values"), std::string::npos) << r.body.substr(0, 200);
  std::string deep(1000, '[');
  r = call("POST", "/repos", R"({"name":)" + deep);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(error_of(r).find("deeper"), std::string::npos) << r.body;
  r = call("POST", "/repos", json{{"name", std::string(5000, 'n')}}.dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(error_of(r).find("longer"), std::string::npos) << r.body;
  std::string path(4000, 'p');  // a long but possible file path is fine
  r = call("POST", "/repos/main/import", json{{"files", {path}}, {"wait", false}}.dump());
  EXPECT_EQ(r.status, 202) << r.body;
}

}  // namespace
}  // namespace depot::pool

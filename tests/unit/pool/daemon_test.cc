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

}  // namespace
}  // namespace depot::pool

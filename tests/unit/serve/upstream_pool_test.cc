#include "serve/upstream_pool.h"

#include <gtest/gtest.h>

#include <future>

#include "support/memory_sink.h"
#include "support/test_http_server.h"

namespace depot {
namespace {

using testing::Reply;
using testing::TestServer;
using std::chrono::milliseconds;

class UpstreamPoolTest : public ::testing::Test {
 protected:
  // /slow takes `delay`; returns its fetch once the pool's one worker is busy with it.
  std::future<Result<FetchResult>> occupy_worker(UpstreamPool& pool, milliseconds delay) {
    Reply slow(200, "slow");
    slow.delay = delay;
    server_.route("/slow", {slow});
    server_.route("/fast", {Reply(200, "fast")});
    auto busy = submit(pool, "/slow");
    while (server_.hits("/slow") == 0) std::this_thread::sleep_for(milliseconds(5));
    return busy;
  }
  UpstreamPoolTest() { options_.retry.max_attempts = 1; }
  // Submits a fetch of `path`; the future yields its result.
  std::future<Result<FetchResult>> submit(UpstreamPool& pool, const std::string& path,
                                          std::shared_ptr<std::atomic<bool>> cancel = nullptr) {
    auto promise = std::make_shared<std::promise<Result<FetchResult>>>();
    auto fut = promise->get_future();
    sinks_.push_back(std::make_unique<testing::MemorySink>());
    FetchRequest r;
    r.url = server_.url(path);
    r.cancel = std::move(cancel);
    pool.submit(r, sinks_.back().get(),
                [promise](const Result<FetchResult>& res) { promise->set_value(res); });
    return fut;
  }

  TestServer server_;
  DownloadOptions options_;
  FakeClock clock_;
  Logger logger_{LogLevel::kError};
  std::vector<std::unique_ptr<testing::MemorySink>> sinks_;
};

TEST_F(UpstreamPoolTest, AFetchThatWaitedTooLongForAWorkerIsRefused) {
  UpstreamPool pool(1, options_, clock_, logger_);
  auto busy = occupy_worker(pool, milliseconds(1500));
  auto queued = submit(pool, "/fast");
  EXPECT_EQ(pool.queued(), 1u);
  EXPECT_EQ(pool.sweep(std::chrono::seconds(10)), 0u);  // not late yet
  clock_.advance(std::chrono::seconds(11));
  EXPECT_EQ(pool.sweep(std::chrono::seconds(10)), 1u);
  auto r = queued.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kRefused);
  EXPECT_TRUE(r.error().transient);
  EXPECT_NE(r.error().message.find("busy"), std::string::npos) << r.error().message;
  EXPECT_TRUE(busy.get().ok());
  EXPECT_EQ(server_.hits("/fast"), 0);
}

TEST_F(UpstreamPoolTest, ACancelledQueuedFetchIsDroppedUnstarted) {
  UpstreamPool pool(1, options_, clock_, logger_);
  auto busy = occupy_worker(pool, milliseconds(1000));
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  auto queued = submit(pool, "/fast", cancel);
  cancel->store(true);
  EXPECT_EQ(pool.sweep(std::chrono::seconds(10)), 0u);  // dropped, but not counted as late
  auto r = queued.get();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("cancelled"), std::string::npos) << r.error().message;
  EXPECT_EQ(pool.queued(), 0u);
  EXPECT_TRUE(busy.get().ok());
  EXPECT_EQ(server_.hits("/fast"), 0);
}

TEST_F(UpstreamPoolTest, ARunningFetchIsCancelledWhileUpstreamSendsNothing) {
  Reply stall(200, std::string(100000, 'x'));
  stall.stall = milliseconds(20000);
  server_.route("/stall", {stall});
  UpstreamPool pool(1, options_, clock_, logger_);
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  auto running = submit(pool, "/stall", cancel);
  while (sinks_.back()->bytes_written() == 0) std::this_thread::sleep_for(milliseconds(5));
  auto t0 = std::chrono::steady_clock::now();
  cancel->store(true);
  ASSERT_EQ(running.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  auto r = running.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kRefused);
  EXPECT_FALSE(r.error().transient);
}

}  // namespace
}  // namespace depot

#include "serve/prefetcher.h"

#include <gtest/gtest.h>

#include <map>

namespace depot {
namespace {

using std::chrono::minutes;

// Jobs that end when the test says so.
class FakeTarget final : public PrefetchTarget {
 public:
  struct Job final : PrefetchJob {
    Job(std::optional<bool>* end, uint64_t* bytes) : end_(end), bytes_(bytes) {}
    std::optional<bool> finished() override { return *end_; }
    uint64_t bytes() override { return *bytes_; }
    std::optional<bool>* end_;
    uint64_t* bytes_;
  };
  std::unique_ptr<PrefetchJob> start(const std::string& key) override {
    started.push_back(key);
    return std::make_unique<Job>(&ends[key], &sizes[key]);
  }
  std::map<std::string, uint64_t> sizes;  // what a job of unknown size turns out to fetch
  std::vector<std::string> started;
  std::map<std::string, std::optional<bool>> ends;
};

class PrefetcherTest : public ::testing::Test {
 protected:
  Prefetcher& make(uint64_t budget, int concurrency = 2, size_t queue = 100) {
    p_ = std::make_unique<Prefetcher>(PrefetchOptions{budget, concurrency, queue}, clock_, t_);
    return *p_;
  }
  FakeClock clock_;
  FakeTarget t_;
  std::unique_ptr<Prefetcher> p_;
};

TEST_F(PrefetcherTest, OffWithoutABudget) {
  Prefetcher& p = make(0);
  EXPECT_EQ(p.offer("a", 1), Prefetcher::Offer::kOff);
  p.poll();
  EXPECT_TRUE(t_.started.empty());
}

TEST_F(PrefetcherTest, RunsAtMostConcurrencyAtOnceOldestFirst) {
  Prefetcher& p = make(1000, 2);
  for (const char* k : {"a", "b", "c"}) EXPECT_EQ(p.offer(k, 10), Prefetcher::Offer::kQueued);
  EXPECT_EQ(p.offer("a", 10), Prefetcher::Offer::kKnown);
  p.poll();
  EXPECT_EQ(t_.started, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(p.counts().running, 2);
  EXPECT_EQ(p.counts().waiting, 1);
  t_.ends["a"] = true;
  t_.ends["b"] = false;
  p.poll();
  EXPECT_EQ(t_.started, (std::vector<std::string>{"a", "b", "c"}));
  Prefetcher::Counts c = p.counts();
  EXPECT_EQ(c.done, 1u);
  EXPECT_EQ(c.failed, 1u);
  EXPECT_EQ(c.bytes, 10u);
  EXPECT_EQ(p.offer("a", 10), Prefetcher::Offer::kKnown);   // prefetched already
  EXPECT_EQ(p.offer("b", 10), Prefetcher::Offer::kQueued);  // failed: may be tried again
}

TEST_F(PrefetcherTest, TheHourlyBudgetHoldsFilesBackUntilItRefills) {
  Prefetcher& p = make(100, 8);
  EXPECT_EQ(p.offer("huge", 101), Prefetcher::Offer::kOverBudget);
  for (const char* k : {"a", "b", "c"}) p.offer(k, 40);
  p.poll();
  EXPECT_EQ(t_.started.size(), 2u);  // 80 of 100 spent; c needs 40
  clock_.advance(minutes(6));        // +10
  p.poll();
  EXPECT_EQ(t_.started.size(), 2u);
  clock_.advance(minutes(6));        // +10: 40 available
  p.poll();
  EXPECT_EQ(t_.started.size(), 3u);
  clock_.advance(std::chrono::hours(10));  // refills to one hour's budget, no more
  for (const char* k : {"d", "e", "f"}) p.offer(k, 40);
  p.poll();
  EXPECT_EQ(t_.started.size(), 5u);
  EXPECT_EQ(p.counts().refused, 1u);
}

TEST_F(PrefetcherTest, NothingStartsWhileClientsWaitForUpstream) {
  Prefetcher& p = make(1000);
  p.offer("a", 1);
  p.poll(/*clients_waiting=*/true);
  EXPECT_TRUE(t_.started.empty());
  p.poll(false);
  EXPECT_EQ(t_.started.size(), 1u);
}

TEST_F(PrefetcherTest, AFileOfUnknownSizeIsChargedWhenItEnds) {
  Prefetcher& p = make(100, 1);
  p.offer("a", 0);
  p.offer("b", 0);
  p.poll();
  EXPECT_EQ(t_.started.size(), 1u);
  t_.sizes["a"] = 130;  // overdraws the budget by 30
  t_.ends["a"] = true;
  p.poll();
  EXPECT_EQ(t_.started.size(), 1u) << "b started on an overdrawn budget";
  EXPECT_EQ(p.counts().bytes, 130u);
  clock_.advance(minutes(18));  // +30: the debt is paid, nothing is left
  p.poll();
  EXPECT_EQ(t_.started.size(), 1u);
  clock_.advance(minutes(1));
  p.poll();
  EXPECT_EQ(t_.started.size(), 2u);
}

TEST_F(PrefetcherTest, AClientAskingForAPrefetchedFileIsOneHit) {
  Prefetcher& p = make(1000);
  p.offer("a", 1);
  p.offer("b", 1);
  EXPECT_FALSE(p.take_hit("zzz"));
  p.poll();
  EXPECT_TRUE(p.take_hit("b"));  // while running: the client joins the prefetch's download
  t_.ends["a"] = true;
  t_.ends["b"] = true;
  p.poll();
  EXPECT_TRUE(p.take_hit("a"));
  EXPECT_FALSE(p.take_hit("a"));
  EXPECT_FALSE(p.take_hit("b"));
  EXPECT_EQ(p.counts().hits, 2u);
}

TEST_F(PrefetcherTest, AFileStillQueuedIsNoHitAndTheQueueIsBounded) {
  Prefetcher& p = make(1000, 1, 2);
  p.offer("a", 1);
  p.offer("b", 1);
  EXPECT_EQ(p.offer("c", 1), Prefetcher::Offer::kQueueFull);
  EXPECT_FALSE(p.take_hit("a"));
}

}  // namespace
}  // namespace depot

// Usage-driven prefetch through CacheService (cache_prefetch.cc).

#include <gtest/gtest.h>

#include "cache_service_fixture.h"

namespace depot {
namespace {

using testing::packages_naming;
using testing::Reply;
namespace fs = std::filesystem;

std::string release_naming(const std::string& packages) {
  return "Suite: s\nSHA256:\n " + sha256_hex(packages) + " " + std::to_string(packages.size()) +
         " main/binary-all/Packages\n";
}

class CachePrefetchTest : public testing::CacheServiceTest {
 protected:
  void SetUp() override {
    CacheServiceTest::SetUp();
    opts_.index_ttl = std::chrono::seconds(0);
    opts_.prefetch.budget_per_hour = 1 << 20;
    const std::string v1 = packages_naming("hello", "pool/hello_1_all.deb", deb("hello_1")) +
                           packages_naming("other", "pool/other_1_all.deb", deb("other_1"));
    const std::string v2 = v1 + packages_naming("hello", "pool/hello_2_all.deb", deb("hello_2")) +
                           packages_naming("other", "pool/other_2_all.deb", deb("other_2"));
    server_.route("/up/dists/s/Release", {Reply(200, release_naming(v1)),
                                          Reply(200, release_naming(v2))});
    server_.route("/up/dists/s/main/binary-all/Packages", {Reply(200, v1), Reply(200, v2)});
    for (const char* name : {"hello_1", "hello_2", "other_1", "other_2"}) {
      server_.route(std::string("/up/pool/") + name + "_all.deb", {Reply(200, deb(name))});
    }
  }
  static std::string deb(const std::string& name) { return "the deb of " + name; }
  void read_indexes(int64_t known) {
    get("u/dists/s/Release");
    get("u/dists/s/main/binary-all/Packages");
    ASSERT_TRUE(wait_for_known_packages(known));
  }
  bool wait_for_prefetches(uint64_t n) {
    for (int i = 0; i < 500 && metrics_.prefetch_done.load() < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      service_->tick();
    }
    return metrics_.prefetch_done.load() == n;
  }
};

TEST_F(CachePrefetchTest, ANewVersionOfAPackageInUseIsFetchedBeforeAnyClientAsks) {
  start();
  read_indexes(2);
  EXPECT_EQ(body(get("u/pool/hello_1_all.deb")), deb("hello_1"));
  read_indexes(4);  // upstream published hello 2 and other 2
  ASSERT_TRUE(wait_for_prefetches(1));
  EXPECT_EQ(server_.hits("/up/pool/hello_2_all.deb"), 1);
  EXPECT_EQ(server_.hits("/up/pool/other_2_all.deb"), 0) << "no client ever used other";
  Answer a = get("u/pool/hello_2_all.deb");
  EXPECT_EQ(a.outcome, CacheOutcome::kHit);
  EXPECT_EQ(body(a), deb("hello_2"));
  EXPECT_EQ(server_.hits("/up/pool/hello_2_all.deb"), 1);
  EXPECT_EQ(metrics_.prefetch_hits.load(), 1u);
  EXPECT_EQ(metrics_.prefetch_bytes.load(), deb("hello_2").size());
  const std::string m = render_prometheus(metrics_);
  EXPECT_NE(m.find("depot_serve_prefetches_total{result=\"done\"} 1"), std::string::npos) << m;
  EXPECT_NE(m.find("depot_serve_prefetch_hits_total 1"), std::string::npos);
}

TEST_F(CachePrefetchTest, UsesReportedByClientsCountAndSurviveARestart) {
  start();
  read_indexes(2);
  ASSERT_TRUE(service_->record_usage("u", {"other"}).ok());
  EXPECT_EQ(service_->record_usage("nope", {"other"}).error().code, ErrorCode::kNotFound);
  service_.reset();  // flushes the usage table
  start();
  ASSERT_TRUE(wait_for_known_packages(2));  // the cached v1, read again at start
  read_indexes(4);  // after a restart the cached v1 is re-read first: v2 names two new files
  ASSERT_TRUE(wait_for_prefetches(1));
  EXPECT_EQ(server_.hits("/up/pool/other_2_all.deb"), 1);
  EXPECT_EQ(server_.hits("/up/pool/hello_2_all.deb"), 0);
}

TEST_F(CachePrefetchTest, AFirstIndexIsABaselineAndNothingIsPrefetchedWithoutABudget) {
  opts_.prefetch.budget_per_hour = 0;
  start();
  read_indexes(2);
  get("u/pool/hello_1_all.deb");
  EXPECT_EQ(service_->record_usage("u", {"hello"}).error().code, ErrorCode::kRefused);
  read_indexes(4);
  for (int i = 0; i < 20; ++i) service_->tick();
  EXPECT_EQ(server_.hits("/up/pool/hello_2_all.deb"), 0);
  EXPECT_FALSE(fs::exists(opts_.cache_dir / "usage.db"));
}

TEST_F(CachePrefetchTest, TheBudgetBoundsWhatIsFetched) {
  opts_.prefetch.budget_per_hour = deb("hello_2").size() + 3;  // not enough for two
  start();
  read_indexes(2);
  get("u/pool/hello_1_all.deb");
  get("u/pool/other_1_all.deb");
  read_indexes(4);
  ASSERT_TRUE(wait_for_prefetches(1));
  for (int i = 0; i < 20; ++i) service_->tick();
  EXPECT_EQ(server_.hits("/up/pool/hello_2_all.deb") + server_.hits("/up/pool/other_2_all.deb"), 1);
  EXPECT_EQ(metrics_.prefetch_waiting.load(), 1);
}

}  // namespace
}  // namespace depot

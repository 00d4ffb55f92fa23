// The cache's shared tier: blobs missing locally are read from the tier before upstream, blobs
// fetched upstream are copied to it, and a failing or lying tier never costs more than one
// answer.

#include <gtest/gtest.h>

#include <map>
#include <mutex>

#include "cache_service_fixture.h"
#include "serve/cache_tier.h"

namespace depot {
namespace {

using testing::CacheServiceTest;
using testing::Reply;

// A tier kept by the test server under /tier/<key>: what is put is served from there after.
class ServerTier final : public CacheTier {
 public:
  explicit ServerTier(testing::TestServer& server) : server_(server) {}
  std::string url(std::string_view key) const override {
    return server_.url("/tier/" + std::string(key));
  }
  std::string describe(std::string_view key) const override {
    return "test://tier/" + std::string(key);
  }
  void configure(DownloadOptions&) const override {}
  Status put(std::string_view key, ByteSource& in, uint64_t size,
             std::string_view sha256) override {
    DEPOT_ASSIGN_OR_RETURN(std::string bytes, read_all(in, key));
    if (bytes.size() != size || sha256_hex(bytes) != sha256) {
      return make_error(ErrorCode::kDigestMismatch, describe(key) + ": not the bytes declared");
    }
    std::lock_guard lock(mu_);
    puts_[std::string(key)] = bytes;
    server_.route("/tier/" + std::string(key), {Reply(200, bytes)});
    return ok_status();
  }
  std::map<std::string, std::string> puts() {
    std::lock_guard lock(mu_);
    return puts_;
  }

 private:
  testing::TestServer& server_;
  std::mutex mu_;
  std::map<std::string, std::string> puts_;
};

class CacheTierTest : public CacheServiceTest {
 protected:
  void SetUp() override {
    CacheServiceTest::SetUp();
    opts_.tier = &tier_;
  }
  // The service's writer threads use tier_, which the base class would outlive.
  void TearDown() override { service_.reset(); }
  // Waits until `n` blobs were copied to the tier.
  bool wait_stored(uint64_t n) {
    for (int i = 0; i < 500 && metrics_.tier_stored.load() < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return metrics_.tier_stored.load() == n;
  }
  ServerTier tier_{server_};
};

TEST_F(CacheTierTest, ABlobTheTierHoldsIsServedFromItWithoutAskingUpstream) {
  server_.route("/tier/u/pool/a.deb", {Reply(200, "tier bytes")});
  server_.route("/up/pool/a.deb", {Reply(200, "tier bytes")});
  start();
  Answer a = get("u/pool/a.deb");
  EXPECT_EQ(body(a), "tier bytes");
  EXPECT_EQ(server_.hits("/up/pool/a.deb"), 0);
  EXPECT_EQ(metrics_.tier_hits.load(), 1u);
  EXPECT_EQ(metrics_.upstream_requests.load(), 0u);
  Answer b = get("u/pool/a.deb");
  EXPECT_EQ(b.outcome, CacheOutcome::kHit);  // stored locally: the tier is not asked again
  EXPECT_EQ(server_.hits("/tier/u/pool/a.deb"), 1);
  EXPECT_TRUE(tier_.puts().empty());  // it came from the tier: not copied back
}

TEST_F(CacheTierTest, ABlobTheTierLacksIsFetchedUpstreamThenCopiedToTheTier) {
  std::string deb(200000, 'd');
  server_.route("/up/pool/b.deb", {Reply(200, deb)});
  server_.route("/up/dists/s/InRelease", {Reply(200, "Suite: s\n")});
  start();
  EXPECT_EQ(body(get("u/dists/s/InRelease")), "Suite: s\n");
  EXPECT_EQ(body(get("u/pool/b.deb")), deb);
  ASSERT_TRUE(wait_stored(1));
  auto puts = tier_.puts();
  ASSERT_EQ(puts.size(), 1u);  // indexes and roots change in place: never in the tier
  EXPECT_EQ(puts["u/pool/b.deb"], deb);
  EXPECT_EQ(server_.hits("/tier/u/dists/s/InRelease"), 0);
  EXPECT_EQ(metrics_.tier_misses.load(), 1u);
  EXPECT_EQ(metrics_.tier_stored_bytes.load(), deb.size());
}

TEST_F(CacheTierTest, AFailingTierIsLeftForUpstreamAndSkippedForItsCooldown) {
  server_.route("/tier/u/pool/c.deb", {Reply(500, "broken")});
  server_.route("/up/pool/c.deb", {Reply(200, "c bytes")});
  server_.route("/up/pool/e.deb", {Reply(200, "e bytes")});
  start();
  EXPECT_EQ(body(get("u/pool/c.deb")), "c bytes");
  EXPECT_EQ(metrics_.tier_errors.load(), 1u);
  EXPECT_EQ(body(get("u/pool/e.deb")), "e bytes");
  EXPECT_EQ(server_.hits("/tier/u/pool/e.deb"), 0);  // the tier's circuit is open
  EXPECT_EQ(metrics_.upstream_errors.load(), 0u);
}

TEST_F(CacheTierTest, TheTierAnswersForBlobsWhileUpstreamIsUnreachable) {
  opts_.upstreams = {{"u", "http://127.0.0.1:" + std::to_string(testing::unused_port())}};
  server_.route("/tier/u/pool/f.deb", {Reply(200, "f bytes")});
  start();
  EXPECT_TRUE(failed(get("u/pool/g.deb")));  // in neither: upstream is asked and fails
  EXPECT_EQ(body(get("u/pool/f.deb")), "f bytes");  // upstream's circuit is open now
  Answer h = get("u/pool/h.deb");
  ASSERT_EQ(h.kind, Answer::Kind::kError);
  EXPECT_NE(h.text.find("is failing"), std::string::npos) << h.text;
}

TEST_F(CacheTierTest, ATierCopyWithTheWrongDigestFailsOnceAndIsReplaced) {
  std::string want = sha256_hex("right");
  std::string rel = "/dists/s/main/binary-amd64/by-hash/SHA256/" + want;
  server_.route("/tier/u" + rel, {Reply(200, "wrong")});
  server_.route("/up" + rel, {Reply(200, "right")});
  start();
  EXPECT_TRUE(failed(get("u" + rel)));  // bytes may have gone out: the answer is cut short
  EXPECT_EQ(body(get("u" + rel)), "right");
  ASSERT_TRUE(wait_stored(1));
  EXPECT_EQ(tier_.puts()["u" + rel], "right");
}

TEST_F(CacheTierTest, ConcurrentMissesShareOneTierRead) {
  Reply slow(200, std::string(100000, 'x'));
  slow.delay = std::chrono::milliseconds(300);
  server_.route("/tier/u/pool/i.deb", {slow});
  start();
  auto f1 = std::async(std::launch::async, [&] { return get("u/pool/i.deb"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto f2 = std::async(std::launch::async, [&] { return get("u/pool/i.deb"); });
  Answer a = f1.get(), b = f2.get();
  EXPECT_EQ(b.outcome, CacheOutcome::kCoalesced);
  EXPECT_EQ(body(a), std::string(100000, 'x'));
  EXPECT_EQ(body(b), std::string(100000, 'x'));
  EXPECT_EQ(server_.hits("/tier/u/pool/i.deb"), 1);
}

}  // namespace
}  // namespace depot

#include "serve/cache_service.h"

#include <chrono>

#include <gtest/gtest.h>

#include "serve/http_semantics.h"
#include "cache_service_fixture.h"

namespace depot {
namespace {

using testing::CacheServiceTest;
using testing::Reply;
using testing::TempDir;
using testing::TestServer;
using testing::packages_naming;
namespace fs = std::filesystem;


TEST_F(CacheServiceTest, MirrorFilesAreServedAndNeverGoUpstream) {
  write_root("u/pool/a.deb", "local bytes");
  start();
  bool sync = false;
  Answer a = get("u/pool/a.deb", false, &sync);
  EXPECT_TRUE(sync);
  ASSERT_EQ(a.kind, Answer::Kind::kFile);
  EXPECT_EQ(a.outcome, CacheOutcome::kMirror);
  EXPECT_EQ(body(a), "local bytes");
  EXPECT_EQ(a.content_type, "application/vnd.debian.binary-package");
  EXPECT_EQ(server_.hits("/up/pool/a.deb"), 0);
}

TEST_F(CacheServiceTest, LocalFilesGetAnInodeEtagAndNoFutureLastModified) {
  write_root("u/dists/s/InRelease", "first");
  write_root("u/pool/old.deb", "old bytes");
  const fs::path old = opts_.root / "u/pool/old.deb";
  struct timespec past[2] = {{1000000000, 0}, {1000000000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, old.c_str(), past, 0), 0);
  const fs::path release = opts_.root / "u/dists/s/InRelease";
  const time_t ahead = ::time(nullptr) + 5;  // a publisher stamping a second (or more) ahead
  struct timespec future[2] = {{ahead, 0}, {ahead, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, release.c_str(), future, 0), 0);
  start();
  Answer past_answer = get("u/pool/old.deb", false);
  EXPECT_EQ(past_answer.last_modified, "Sun, 09 Sep 2001 01:46:40 GMT");
  Answer fresh = get("u/dists/s/InRelease", false);
  EXPECT_EQ(fresh.mtime, ahead);  // what If-Modified-Since is compared with
  auto shown = parse_http_date(fresh.last_modified);
  ASSERT_TRUE(shown);
  // never later than the answer; system_clock, as time() reads a coarser clock that may lag it
  EXPECT_LE(*shown, std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count());
  // Replaced (by rename) with the same date and the same number of bytes: a new ETag all the same.
  write_root("u/dists/s/InRelease.new", "other");
  const fs::path replacement = opts_.root / "u/dists/s/InRelease.new";
  ASSERT_EQ(::utimensat(AT_FDCWD, replacement.c_str(), future, 0), 0);
  fs::rename(replacement, release);
  Answer again = get("u/dists/s/InRelease", false);
  EXPECT_NE(again.etag, fresh.etag);
}

TEST_F(CacheServiceTest, ACachedCopyKeepsTheEtagItWasFirstServedWith) {
  server_.route("/up/pool/e.deb",
                {Reply(200, "etag bytes", {"Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT"})});
  start();
  Answer first = get("u/pool/e.deb");
  EXPECT_EQ(first.outcome, CacheOutcome::kMiss);
  EXPECT_EQ(body(first), "etag bytes");
  Answer hit = get("u/pool/e.deb");
  EXPECT_EQ(hit.outcome, CacheOutcome::kHit);
  EXPECT_EQ(first.etag, make_etag(10, 784111777));
  EXPECT_EQ(hit.etag, first.etag);
  EXPECT_EQ(hit.last_modified, "Sun, 06 Nov 1994 08:49:37 GMT");
}

TEST_F(CacheServiceTest, MissIsFetchedOnceThenHit) {
  server_.route("/up/pool/b.deb", {Reply(200, "remote bytes")});
  start();
  Answer a = get("u/pool/b.deb");
  EXPECT_EQ(a.outcome, CacheOutcome::kMiss);
  EXPECT_EQ(body(a), "remote bytes");
  bool sync = false;
  Answer b = get("u/pool/b.deb", false, &sync);
  EXPECT_TRUE(sync);
  EXPECT_EQ(b.outcome, CacheOutcome::kHit);
  EXPECT_EQ(body(b), "remote bytes");
  EXPECT_EQ(server_.hits("/up/pool/b.deb"), 1);
  EXPECT_TRUE(fs::exists(opts_.cache_dir / "files/u/pool/b.deb"));
}

TEST_F(CacheServiceTest, ConcurrentRequestsShareOneDownload) {
  Reply slow(200, std::string(100000, 'x'));
  slow.delay = std::chrono::milliseconds(300);
  server_.route("/up/pool/c.deb", {slow});
  start();
  auto f1 = std::async(std::launch::async, [&] { return get("u/pool/c.deb"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto f2 = std::async(std::launch::async, [&] { return get("u/pool/c.deb"); });
  Answer a = f1.get(), b = f2.get();
  EXPECT_EQ(a.outcome, CacheOutcome::kMiss);
  EXPECT_EQ(b.outcome, CacheOutcome::kCoalesced);
  EXPECT_EQ(body(a), std::string(100000, 'x'));
  EXPECT_EQ(body(b), std::string(100000, 'x'));
  EXPECT_EQ(server_.hits("/up/pool/c.deb"), 1);
}

TEST_F(CacheServiceTest, TruncatedDownloadFailsAndIsNotCached) {
  Reply cut(200, std::string(50000, 'y'));
  cut.send_limit = 20000;
  server_.route("/up/pool/d.deb", {cut, Reply(200, std::string(50000, 'y'))});
  start();
  Answer a = get("u/pool/d.deb");
  EXPECT_TRUE(failed(a));
  EXPECT_FALSE(fs::exists(opts_.cache_dir / "files/u/pool/d.deb"));
  Answer b = get("u/pool/d.deb");
  EXPECT_EQ(b.outcome, CacheOutcome::kMiss);
  EXPECT_EQ(body(b), std::string(50000, 'y'));
}

TEST_F(CacheServiceTest, NotFoundIsRememberedForTheNegativeTtl) {
  start();
  Answer a = get("u/pool/missing.deb");
  EXPECT_EQ(a.kind, Answer::Kind::kError);
  EXPECT_EQ(a.status, 404);
  bool sync = false;
  Answer b = get("u/pool/missing.deb", false, &sync);
  EXPECT_TRUE(sync);
  EXPECT_EQ(b.status, 404);
  EXPECT_EQ(server_.hits("/up/pool/missing.deb"), 1);
  EXPECT_EQ(metrics_.negative_hits.load(), 1u);
}

TEST_F(CacheServiceTest, ExpiredIndexIsRevalidatedWithItsValidators) {
  opts_.index_ttl = std::chrono::seconds(0);
  server_.route("/up/simple/p/", {Reply(200, "<html>v1</html>", {"ETag: \"v1\""}),
                                  Reply(304, "", {"ETag: \"v1\""})});
  start();
  Answer a = get("u/simple/p", true);
  EXPECT_EQ(a.outcome, CacheOutcome::kMiss);
  EXPECT_EQ(body(a), "<html>v1</html>");
  Answer b = get("u/simple/p", true);
  EXPECT_EQ(b.outcome, CacheOutcome::kRevalidated);
  EXPECT_EQ(body(b), "<html>v1</html>");
  auto seen = server_.requests("/up/simple/p/");
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].headers["if-none-match"], "\"v1\"");
  EXPECT_EQ(b.content_type, "text/html; charset=utf-8");
}

TEST_F(CacheServiceTest, AFailingPathIsServedStaleAndRememberedForThatPathOnly) {
  opts_.index_ttl = std::chrono::seconds(0);
  server_.route("/up/repodata.json", {Reply(200, "{}"), Reply(503, "down")});
  server_.route("/up/other.json", {Reply(200, "other")});
  start();
  EXPECT_EQ(body(get("u/repodata.json")), "{}");
  Answer b = get("u/repodata.json");
  EXPECT_EQ(b.outcome, CacheOutcome::kStale);
  EXPECT_TRUE(b.stale);
  EXPECT_EQ(body(b), "{}");
  bool sync = false;
  Answer c = get("u/repodata.json", false, &sync);
  EXPECT_TRUE(sync);  // the path's failure is remembered: upstream is not asked
  EXPECT_EQ(c.outcome, CacheOutcome::kStale);
  EXPECT_EQ(server_.hits("/up/repodata.json"), 2);
  // Another path of the same upstream is still fetched.
  Answer d = get("u/other.json", false, &sync);
  EXPECT_FALSE(sync);
  EXPECT_EQ(body(d), "other");
}

TEST_F(CacheServiceTest, ManyFailingPathsOpenTheCircuit) {
  opts_.health.min_paths = 3;
  for (const char* p : {"/up/a", "/up/b", "/up/c"}) server_.route(p, {Reply(500, "boom")});
  server_.route("/up/d", {Reply(200, "d")});
  start();
  for (const char* p : {"u/a", "u/b", "u/c"}) EXPECT_TRUE(failed(get(p))) << p;
  bool sync = false;
  Answer d = get("u/d", false, &sync);
  EXPECT_TRUE(sync);  // the circuit is open: upstream is not asked
  EXPECT_EQ(d.status, 502);
  EXPECT_EQ(server_.hits("/up/d"), 0);
}

TEST_F(CacheServiceTest, AnUnreachableUpstreamOpensTheCircuitAtOnce) {
  opts_.upstreams = {{"u", "http://127.0.0.1:" + std::to_string(testing::unused_port())}};
  start();
  Answer a = get("u/x");
  EXPECT_EQ(a.status, 502);
  bool sync = false;
  Answer b = get("u/y", false, &sync);
  EXPECT_TRUE(sync);
  EXPECT_EQ(b.status, 502);
  EXPECT_NE(b.text.find("is failing"), std::string::npos) << b.text;
}

TEST_F(CacheServiceTest, ByHashBodyWithTheWrongDigestIsRefused) {
  std::string want = sha256_hex("right");
  std::string rel = "/dists/s/main/binary-amd64/by-hash/SHA256/" + want;
  server_.route("/up" + rel, {Reply(200, "wrong"), Reply(200, "right")});
  start();
  Answer a = get("u" + rel);
  EXPECT_TRUE(failed(a));
  EXPECT_FALSE(fs::exists(opts_.cache_dir / ("files/u" + rel)));
  EXPECT_EQ(body(get("u" + rel)), "right");
}

TEST_F(CacheServiceTest, IndexIsServedOnlyInTheGenerationOfTheServedRoot) {
  std::string p1 = "packages v1\n", p2 = "packages v2 longer\n";
  auto release = [](const std::string& p) {
    return "Suite: s\nAcquire-By-Hash: yes\nSHA256:\n " + sha256_hex(p) + " " +
           std::to_string(p.size()) + " main/binary-amd64/Packages\n";
  };
  std::string bh = "/up/dists/s/main/binary-amd64/by-hash/SHA256/";
  server_.route("/up/dists/s/Release", {Reply(200, release(p1)), Reply(200, release(p2))});
  server_.route(bh + sha256_hex(p1), {Reply(200, p1)});
  server_.route(bh + sha256_hex(p2), {Reply(200, p2)});
  opts_.index_ttl = std::chrono::seconds(0);
  start();
  EXPECT_EQ(body(get("u/dists/s/Release")), release(p1));
  EXPECT_EQ(body(get("u/dists/s/main/binary-amd64/Packages")), p1);
  bool sync = false;
  Answer hit = get("u/dists/s/main/binary-amd64/Packages", false, &sync);
  EXPECT_TRUE(sync);  // named by the served root: no revalidation despite the TTL
  EXPECT_EQ(hit.outcome, CacheOutcome::kHit);
  EXPECT_EQ(body(get("u/dists/s/Release")), release(p2));  // a new generation
  Answer fresh = get("u/dists/s/main/binary-amd64/Packages");
  EXPECT_EQ(fresh.outcome, CacheOutcome::kMiss);
  EXPECT_EQ(body(fresh), p2);
  EXPECT_EQ(server_.hits("/up/dists/s/main/binary-amd64/Packages"), 0);
}

TEST_F(CacheServiceTest, SimplePageLinksAreRewrittenAndTheirDigestsEnforced) {
  std::string page = "<a href=\"../../files/w-1.whl#sha256=" + sha256_hex("right") +
                     "\">w</a>";
  server_.route("/up/simple/w/", {Reply(200, page, {"Content-Type: text/html"})});
  server_.route("/up/files/w-1.whl", {Reply(200, "wrong"), Reply(200, "right")});
  start();
  Answer a = get("u/simple/w", true);
  EXPECT_EQ(body(a), "<a href=\"/u/files/w-1.whl#sha256=" + sha256_hex("right") + "\">w</a>");
  EXPECT_EQ(a.content_type, "text/html");
  Answer bad = get("u/files/w-1.whl");
  EXPECT_TRUE(failed(bad));
  EXPECT_EQ(body(get("u/files/w-1.whl")), "right");
}

// crates' config.json: stored as upstream sent it, rewritten for each request's Host; the
// .crate it places on another host is fetched from there and checked by its index line.
TEST_F(CacheServiceTest, DocumentsAreRewrittenPerRequestAndPlaceTheirBlobsElsewhere) {
  std::string crate = "crate bytes";
  std::string line = R"({"name":"abcd","vers":"1.0.0","cksum":")" + sha256_hex(crate) +
                     R"(","deps":[]})" + "\n";
  server_.route("/up/config.json",
                {Reply(200, R"({"dl":")" + server_.url("/dl") + R"(","api":"x"})")});
  server_.route("/up/ab/cd/abcd", {Reply(200, line)});
  server_.route("/dl/abcd/1.0.0/download", {Reply(200, "crate byteZ"), Reply(200, crate)});
  start();
  auto dl = [](const std::string& base) {
    return "{\"dl\":\"" + base + "/u/crates/{crate}/{crate}-{version}.crate\"}\n";
  };
  Answer a = get("u/config.json", false, nullptr, "h:1");
  EXPECT_EQ(a.kind, Answer::Kind::kText);
  EXPECT_EQ(a.text, dl("http://h:1"));
  EXPECT_EQ(get("u/config.json", false, nullptr, "[::1]:8").text, dl("http://[::1]:8"));
  EXPECT_EQ(get("u/config.json", false, nullptr, "a\",\"api\":\"x").status, 400);
  EXPECT_EQ(get("u/config.json").status, 400);  // no Host at all
  EXPECT_EQ(body(get("u/ab/cd/abcd")), line);
  EXPECT_TRUE(failed(get("u/crates/abcd/abcd-1.0.0.crate")));  // not its cksum: never stored
  EXPECT_EQ(body(get("u/crates/abcd/abcd-1.0.0.crate")), crate);
  EXPECT_EQ(get("u/crates/abcd/abcd-1.0.0.crate").outcome, CacheOutcome::kHit);
}

TEST_F(CacheServiceTest, PackumentsAreRoutedRewrittenByAcceptAndTheirTarballsVerified) {
  std::string tgz = "tarball bytes", npm_abbrev = "application/vnd.npm.install-v1+json";
  server_.route("/up/@s%2fp", {Reply(200, R"({"name":"@s/p","versions":{"1.0.0":{"name":"@s/p",)"
                                          R"("version":"1.0.0","dist":{"tarball":")" +
                                              server_.url("/cdn/p-1.0.0.tgz") + R"(","shasum":")" +
                                              testing::all_digests(tgz).sha1 + R"("}}}})")});
  server_.route("/cdn/p-1.0.0.tgz", {Reply(200, "tarball byteZ"), Reply(200, tgz)});
  opts_.upstreams[0].registry = "npm";
  start();
  Answer full = get("u/@s/p", false, nullptr, "h:1");
  EXPECT_EQ(full.content_type, "application/json");
  EXPECT_NE(full.text.find(R"("tarball":"http://h:1/u/@s/p/-/p-1.0.0.tgz")"), std::string::npos)
      << full.text;
  ASSERT_EQ(server_.hits("/up/@s%2fp"), 1);
  EXPECT_EQ(server_.requests("/up/@s%2fp")[0].headers["accept"], "application/json");
  Answer abbrev = get("u/@s/p", false, nullptr, "h:1", npm_abbrev + ", application/json;q=0.8");
  EXPECT_EQ(abbrev.content_type, npm_abbrev);
  EXPECT_EQ(abbrev.outcome, CacheOutcome::kHit);
  EXPECT_TRUE(fs::exists(opts_.cache_dir / "files/u/@s/p/index.json"));
  for (const char* refused : {"u/@s/p/index.json", "u/a/b", "u/-/v1/search", "u"}) {
    EXPECT_EQ(get(refused, false, nullptr, "h:1").status, 404) << refused;
  }
  EXPECT_EQ(get("u/p", true).status, 404);
  EXPECT_EQ(server_.hits("/up/@s/p/index.json") + server_.hits("/up/a/b") + server_.hits("/up/p/"),
            0);
  EXPECT_TRUE(failed(get("u/@s/p/-/p-1.0.0.tgz")));  // not its shasum: never stored
  EXPECT_EQ(body(get("u/@s/p/-/p-1.0.0.tgz")), tgz);
  EXPECT_EQ(get("u/@s/p/-/p-1.0.0.tgz").outcome, CacheOutcome::kHit);
  EXPECT_EQ(server_.hits("/up/@s/p/-/p-1.0.0.tgz"), 0);
}

TEST_F(CacheServiceTest, PathsOutsideEveryUpstreamAreNotFound) {
  start();
  Answer a = get("elsewhere/file");
  EXPECT_EQ(a.status, 404);
}


TEST_F(CacheServiceTest, DebsAreCheckedAgainstThePackagesIndexThatNamedThem) {
  std::string deb = "a real deb";
  std::string packages = packages_naming("a", "pool/main/a/a_1_all.deb", deb);
  std::string release = "Suite: s\nSHA256:\n " + sha256_hex(packages) + " " +
                        std::to_string(packages.size()) + " main/binary-all/Packages\n";
  server_.route("/up/dists/s/Release", {Reply(200, release)});
  server_.route("/up/dists/s/main/binary-all/Packages", {Reply(200, packages)});
  server_.route("/up/pool/main/a/a_1_all.deb", {Reply(200, "a fake deb"), Reply(200, deb)});
  start();
  EXPECT_EQ(body(get("u/dists/s/Release")), release);
  EXPECT_EQ(body(get("u/dists/s/main/binary-all/Packages")), packages);
  // The index is read after its readers were released: wait until it is known.
  ASSERT_TRUE(wait_for_known_packages(1));
  Answer bad = get("u/pool/main/a/a_1_all.deb");
  EXPECT_TRUE(failed(bad)) << "a .deb that differs from Packages was served whole";
  EXPECT_FALSE(fs::exists(opts_.cache_dir / "files/u/pool/main/a/a_1_all.deb"));
  EXPECT_EQ(body(get("u/pool/main/a/a_1_all.deb")), deb);
}


TEST_F(CacheServiceTest, CacheSizeEvictsTheLeastRecentlyUsedButNeverAFileBeingSent) {
  server_.route("/up/pool/1.deb", {Reply(200, std::string(60, '1'))});
  server_.route("/up/pool/2.deb", {Reply(200, std::string(60, '2'))});
  server_.route("/up/pool/3.deb", {Reply(200, std::string(60, '3'))});
  opts_.cache_size = 130;
  start();
  Answer held = get("u/pool/1.deb");   // kept while "being sent"
  get("u/pool/2.deb");
  Answer third = get("u/pool/3.deb");  // over the cap: 2.deb goes, 1.deb is pinned
  EXPECT_TRUE(fs::exists(opts_.cache_dir / "files/u/pool/1.deb"));
  EXPECT_FALSE(fs::exists(opts_.cache_dir / "files/u/pool/2.deb"));
  EXPECT_TRUE(fs::exists(opts_.cache_dir / "files/u/pool/3.deb"));
  EXPECT_EQ(body(held), std::string(60, '1'));
  service_->tick();
  EXPECT_GE(metrics_.evictions.load(), 1u);
  EXPECT_LE(metrics_.cache_bytes.load(), 130);
}


TEST_F(CacheServiceTest, PackagesCachedBeforeARestartStillGuardTheirDebs) {
  std::string deb = "the deb";
  std::string packages = packages_naming("b", "pool/b_1_all.deb", deb);
  server_.route("/up/dists/s/main/binary-all/Packages", {Reply(200, packages)});
  server_.route("/up/pool/b_1_all.deb", {Reply(200, "not the deb"), Reply(200, deb)});
  start();
  EXPECT_EQ(body(get("u/dists/s/main/binary-all/Packages")), packages);
  service_.reset();  // a restart: what was learnt in memory is gone
  metrics_.known_pool_files = 0;
  start();
  ASSERT_TRUE(wait_for_known_packages(1));
  Answer bad = get("u/pool/b_1_all.deb");
  EXPECT_TRUE(failed(bad));
  EXPECT_EQ(body(get("u/pool/b_1_all.deb")), deb);
}

// Resolves `rel` and returns the pending handle; `out` receives the answer.
std::shared_ptr<PendingAnswer> resolve_pending(CacheService& service, const std::string& rel,
                                               std::promise<Answer>& out) {
  ServeRequest r;
  r.rel = rel;
  std::shared_ptr<PendingAnswer> pending;
  auto now = service.resolve(r, [&out](Answer a) { out.set_value(std::move(a)); }, &pending);
  EXPECT_FALSE(now.has_value());
  return pending;
}

// One upstream worker, busy for 1.5 s with u/slow (answered into `first`) when u/fast (answered
// into `second`) is asked for; returns the pending handle of u/fast.
std::shared_ptr<PendingAnswer> queue_behind_busy_worker(CacheServiceTest& t, TestServer& server,
                                                        std::promise<Answer>& first,
                                                        std::promise<Answer>& second) {
  Reply slow(200, "slow");
  slow.delay = std::chrono::milliseconds(1500);
  server.route("/up/slow", {slow});
  server.route("/up/fast", {Reply(200, "fast")});
  t.start_service();
  (void)resolve_pending(t.service(), "u/slow", first);
  while (server.hits("/up/slow") == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  return resolve_pending(t.service(), "u/fast", second);
}

TEST_F(CacheServiceTest, AMissThatWaitedTooLongForAWorkerGets503WithRetryAfter) {
  opts_.clock = &clock_;
  opts_.upstream_workers = 1;
  std::promise<Answer> first, second;
  auto p2 = queue_behind_busy_worker(*this, server_, first, second);
  clock_.advance(std::chrono::seconds(11));
  service_->tick();
  auto fut = second.get_future();
  ASSERT_EQ(fut.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  Answer a = fut.get();
  EXPECT_EQ(a.status, 503);
  EXPECT_EQ(a.retry_after, 5);
  EXPECT_EQ(metrics_.upstream_queue_timeouts.load(), 1u);
  EXPECT_EQ(server_.hits("/up/fast"), 0);
  first.get_future().wait();
}

TEST_F(CacheServiceTest, AQueuedMissEveryClientLeftIsNeverStarted) {
  opts_.upstream_workers = 1;
  std::promise<Answer> first, second;
  auto p2 = queue_behind_busy_worker(*this, server_, first, second);
  ASSERT_TRUE(p2);
  p2->cancel();
  EXPECT_EQ(metrics_.upstream_cancelled.load(), 1u);
  service_->tick();  // drops the cancelled fetch from the queue
  EXPECT_EQ(metrics_.inflight_downloads.load(), 1);
  first.get_future().wait();
  EXPECT_EQ(server_.hits("/up/fast"), 0);
  // A later client starts a fresh download.
  EXPECT_EQ(body(get("u/fast")), "fast");
}

class AbandonedDownloadTest : public CacheServiceTest {
 protected:
  // A 100 KB body whose second half comes after `stall`; returns the streaming answer once the
  // first half has arrived.
  Answer start_stalled(std::chrono::milliseconds stall) {
    opts_.clock = &clock_;
    Reply r(200, std::string(100000, 'x'));
    r.stall = stall;
    server_.route("/up/big.bin", {r, Reply(200, std::string(100000, 'x'))});
    start();
    std::promise<Answer> out;
    auto fut = out.get_future();
    auto pending = resolve_pending(*service_, "u/big.bin", out);
    Answer a = fut.get();
    EXPECT_EQ(a.kind, Answer::Kind::kStream);
    while (a.download->snapshot().available < 50000) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return a;
  }
  bool wait_inflight_zero() {
    for (int i = 0; i < 600 && metrics_.inflight_downloads.load() != 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return metrics_.inflight_downloads.load() == 0;
  }
};

TEST_F(AbandonedDownloadTest, ADownloadThatWouldTakeLongIsCancelledWhenEveryClientLeaves) {
  Answer a = start_stalled(std::chrono::milliseconds(30000));
  auto d = a.download;
  a = Answer{};  // the only client goes away; at its rate so far the rest is far off
  EXPECT_EQ(metrics_.upstream_cancelled.load(), 1u);
  ASSERT_TRUE(wait_inflight_zero()) << "the cancelled download kept running";
  EXPECT_EQ(d->snapshot().state, Download::State::kFailed);
  EXPECT_TRUE(fs::is_empty(opts_.cache_dir / "partial"));
  Answer again = get("u/big.bin");  // a fresh download, not the cancelled one
  EXPECT_EQ(again.outcome, CacheOutcome::kMiss);
  EXPECT_EQ(server_.hits("/up/big.bin"), 2);
}

TEST_F(AbandonedDownloadTest, ADownloadAboutToEndIsFinishedForTheCache) {
  Answer a = start_stalled(std::chrono::milliseconds(300));
  clock_.advance(std::chrono::seconds(1));  // half in 1 s: the rest within --abandoned-finish
  a = Answer{};
  EXPECT_EQ(metrics_.upstream_abandoned_kept.load(), 1u);
  EXPECT_EQ(metrics_.upstream_cancelled.load(), 0u);
  ASSERT_TRUE(wait_inflight_zero());
  // The gauge drops before the finished download leaves the table: a request in between joins
  // it (coalesced). Once it left, the cached copy answers at once.
  bool sync = false;
  Answer hit;
  for (int i = 0; i < 100 && !sync; ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    hit = get("u/big.bin", false, &sync);
  }
  EXPECT_TRUE(sync);
  EXPECT_EQ(hit.outcome, CacheOutcome::kHit);
  EXPECT_EQ(server_.hits("/up/big.bin"), 1);  // never fetched again
}

}  // namespace
}  // namespace depot

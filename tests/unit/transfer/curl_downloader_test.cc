// The curl downloader against a scripted HTTP/1.1 server on 127.0.0.1 (port 0).

#include <gtest/gtest.h>

#include "support/memory_sink.h"
#include "support/test_http_server.h"
#include "transfer/downloader.h"

namespace depot {
namespace {

using testing::Reply;
using testing::Seen;
using testing::TestServer;
using std::chrono::milliseconds;
using Clk = std::chrono::steady_clock;

using testing::MemorySink;

std::string sha256(const std::string& s) {
  Hasher h(digest_bit(DigestAlgo::kSha256));
  h.update(s);
  return h.finish().sha256;
}

std::string pattern(size_t n, char seed = 'a') {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + (i * 7 + i / 251) % 26);
  return s;
}

class CurlDownloaderTest : public ::testing::Test {
 protected:
  CurlDownloaderTest() {
    options.retry.max_attempts = 4;
    options.retry.base_delay = milliseconds(2);
    options.retry.max_delay = milliseconds(10);
  }
  std::unique_ptr<Downloader> make() {
    return make_curl_downloader(options, system_clock(), null_logger());
  }
  Result<FetchResult> fetch(FetchRequest req) { return make()->fetch(req, sink); }
  FetchRequest req(const std::string& path, const std::string& body) {
    FetchRequest r;
    r.url = server.url(path);
    r.expected_size = body.size();
    r.expected.sha256 = sha256(body);
    return r;
  }

  TestServer server;
  DownloadOptions options;
  MemorySink sink;
};

TEST_F(CurlDownloaderTest, DownloadsBodyWithDigestsAndValidators) {
  std::string body = pattern(100000);
  server.route("/f.conda",
               {{200, body, {"ETag: \"abc\"", "Last-Modified: Tue, 01 Aug 2023 10:00:00 GMT"}}});
  FetchRequest r = req("/f.conda", body);
  auto res = fetch(r);
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->http_status, 200);
  EXPECT_FALSE(res->not_modified);
  EXPECT_EQ(res->bytes, body.size());
  EXPECT_EQ(res->digests.sha256, sha256(body));
  EXPECT_TRUE(res->digests.md5.empty());
  EXPECT_EQ(res->etag, "\"abc\"");
  EXPECT_EQ(res->last_modified, "Tue, 01 Aug 2023 10:00:00 GMT");
  EXPECT_EQ(res->attempts, 1);
  EXPECT_EQ(sink.data(), body);
  EXPECT_EQ(sink.resets, 0);
  auto seen = server.requests("/f.conda");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].headers.count("accept-encoding"), 0u);  // raw bytes for digests
  EXPECT_EQ(seen[0].headers["user-agent"], "depot/0.1");
}

TEST_F(CurlDownloaderTest, ComputesEachExpectedAlgorithm) {
  std::string body = "hello";
  server.route("/h", {{200, body}});
  FetchRequest r;
  r.url = server.url("/h");
  r.expected.md5 = "5d41402abc4b2a76b9719d911017c592";
  auto res = fetch(r);
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->digests.md5, "5d41402abc4b2a76b9719d911017c592");
  EXPECT_EQ(res->digests.sha256, sha256(body));
}

TEST_F(CurlDownloaderTest, RetriesServerErrorThenSucceeds) {
  std::string body = pattern(5000);
  server.route("/f", {{503, "busy"}, {500, "oops"}, {200, body}});
  auto res = fetch(req("/f", body));
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->attempts, 3);
  EXPECT_EQ(sink.resets, 2);
  EXPECT_EQ(sink.data(), body);  // error pages never reach the sink
  EXPECT_EQ(server.hits("/f"), 3);
}

TEST_F(CurlDownloaderTest, ReportsServerErrorAfterAttemptsExhausted) {
  server.route("/f", {{503, "busy"}});
  options.retry.max_attempts = 3;
  auto res = fetch(req("/f", "x"));
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code, ErrorCode::kHttp);
  EXPECT_TRUE(res.error().transient);
  EXPECT_EQ(res.error().message, server.url("/f") + ": HTTP 503 (after 3 attempts)");
  EXPECT_EQ(server.hits("/f"), 3);
}

TEST_F(CurlDownloaderTest, NotFoundAndClientErrorsAreNotRetried) {
  server.route("/gone", {{410, "gone"}});
  server.route("/forbidden", {{403, "no"}});
  auto missing = fetch(req("/missing", "x"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(missing.error().transient);
  EXPECT_EQ(missing.error().message, server.url("/missing") + ": HTTP 404");
  auto gone = fetch(req("/gone", "x"));
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);
  auto forbidden = fetch(req("/forbidden", "x"));
  ASSERT_FALSE(forbidden.ok());
  EXPECT_EQ(forbidden.error().code, ErrorCode::kHttp);
  EXPECT_FALSE(forbidden.error().transient);
  EXPECT_EQ(server.hits("/missing") + server.hits("/gone") + server.hits("/forbidden"), 3);
}

TEST_F(CurlDownloaderTest, TruncatedBodyIsRetried) {
  std::string body = pattern(20000);
  Reply cut{200, body};
  cut.send_limit = 7000;  // Content-Length says 20000, then the server closes
  server.route("/f", {cut, {200, body}});
  FetchRequest r = req("/f", body);
  r.expected_size.reset();  // curl itself must notice the short body
  auto res = fetch(r);
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->attempts, 2);
  EXPECT_EQ(sink.resets, 1);
  EXPECT_EQ(sink.data(), body);
}

TEST_F(CurlDownloaderTest, PersistentTruncationFailsAsSizeMismatch) {
  std::string body = pattern(20000);
  Reply cut{200, body};
  cut.send_limit = 7000;
  server.route("/f", {cut});
  auto res = fetch(req("/f", body));
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code, ErrorCode::kSizeMismatch);
  EXPECT_TRUE(res.error().transient);
  EXPECT_NE(res.error().message.find(server.url("/f") + ": truncated"), std::string::npos)
      << res.error().message;
  EXPECT_EQ(server.hits("/f"), 4);
}

TEST_F(CurlDownloaderTest, BodyShorterThanExpectedSizeFails) {
  std::string body = pattern(100);
  server.route("/f", {{200, body}});
  FetchRequest r = req("/f", body);
  r.expected_size = 200;
  r.expected.sha256.clear();
  options.retry.max_attempts = 2;
  auto res = fetch(r);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code, ErrorCode::kSizeMismatch);
  EXPECT_EQ(res.error().message,
            server.url("/f") + ": size mismatch: received 100 bytes, expected 200 (after 2 attempts)");
}

TEST_F(CurlDownloaderTest, LongerBodyIsCutOff) {
  std::string body = pattern(4 << 20);
  server.route("/f", {{200, body}});
  FetchRequest r;
  r.url = server.url("/f");
  r.expected_size = 1000;
  options.retry.max_attempts = 2;
  auto res = fetch(r);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code, ErrorCode::kSizeMismatch);
  EXPECT_TRUE(res.error().transient);
  EXPECT_LE(sink.max_size, 1000u);  // never more than declared reached the sink
  EXPECT_EQ(server.hits("/f"), 2);
}

TEST_F(CurlDownloaderTest, UndeclaredSizeIsCappedForGood) {
  std::string body = pattern(4 << 20);
  server.route("/f", {{200, body}});
  FetchRequest r;
  r.url = server.url("/f");
  r.max_size = 100000;
  options.retry.max_attempts = 3;
  auto res = fetch(r);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code, ErrorCode::kSizeMismatch);
  EXPECT_FALSE(res.error().transient);
  EXPECT_NE(res.error().message.find("limit of 100000"), std::string::npos) << res.error().message;
  EXPECT_LE(sink.max_size, 100000u);
  EXPECT_EQ(server.hits("/f"), 1);

  options.max_unknown_size = 5000;  // the default cap, when the request sets none
  FetchRequest plain;
  plain.url = server.url("/f");
  auto capped = fetch(plain);
  ASSERT_FALSE(capped.ok());
  EXPECT_NE(capped.error().message.find("limit of 5000"), std::string::npos);
}

TEST_F(CurlDownloaderTest, CorruptedBytesAreRetried) {
  std::string body = pattern(30000);
  std::string bad = body;
  bad[12345] ^= 1;
  server.route("/f", {{200, bad}, {200, body}});
  auto res = fetch(req("/f", body));
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->attempts, 2);
  EXPECT_EQ(sink.resets, 1);
  EXPECT_EQ(sink.data(), body);
}

TEST_F(CurlDownloaderTest, PersistentDigestMismatchNamesBothDigests) {
  std::string body = pattern(30000);
  std::string bad = body;
  bad[0] ^= 1;
  server.route("/f", {{200, bad}});
  auto res = fetch(req("/f", body));
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code, ErrorCode::kDigestMismatch);
  EXPECT_EQ(res.error().message, server.url("/f") + ": sha256 mismatch: expected " + sha256(body) +
                                     ", got " + sha256(bad) + " (after 4 attempts)");
}

TEST_F(CurlDownloaderTest, SinkWriteErrorIsPermanent) {
  server.route("/f", {{200, pattern(1000)}});
  sink.fail_writes = true;
  auto res = fetch(req("/f", pattern(1000)));
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code, ErrorCode::kIo);
  EXPECT_FALSE(res.error().transient);
  EXPECT_EQ(res.error().message, server.url("/f") + ": /mirror/f: No space left on device");
  EXPECT_EQ(server.hits("/f"), 1);
}

TEST_F(CurlDownloaderTest, BadUrlsAreNotRetried) {
  for (std::string url : {"ftp://127.0.0.1/f", "http://[::1/f", "nonsense"}) {
    FetchRequest r;
    r.url = url;
    auto res = fetch(r);
    ASSERT_FALSE(res.ok()) << url;
    EXPECT_FALSE(res.error().transient) << url << ": " << res.error().message;
    EXPECT_EQ(res.error().message.rfind(url + ": ", 0), 0u) << res.error().message;
  }
}

TEST_F(CurlDownloaderTest, ConnectionRefusedIsRetriedThenReported) {
  FetchRequest r;
  r.url = "http://127.0.0.1:" + std::to_string(testing::unused_port()) + "/f";
  options.retry.max_attempts = 3;
  auto res = fetch(r);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code, ErrorCode::kUnreachable);
  EXPECT_TRUE(res.error().transient);
  EXPECT_EQ(res.error().message.rfind(r.url + ": ", 0), 0u);
  EXPECT_TRUE(res.error().message.ends_with("(after 3 attempts)")) << res.error().message;
}

TEST_F(CurlDownloaderTest, NotModifiedCompletesWithoutBody) {
  server.route("/repodata.json",
               {{304, "", {"ETag: \"v2\"", "Last-Modified: Wed, 02 Aug 2023 10:00:00 GMT"}}});
  FetchRequest r;
  r.url = server.url("/repodata.json");
  r.if_none_match = "\"v1\"";
  r.if_modified_since = "Tue, 01 Aug 2023 10:00:00 GMT";
  auto res = fetch(r);
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_TRUE(res->not_modified);
  EXPECT_EQ(res->http_status, 304);
  EXPECT_EQ(res->bytes, 0u);
  EXPECT_EQ(res->etag, "\"v2\"");
  EXPECT_EQ(sink.data(), "");
  auto seen = server.requests("/repodata.json");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].headers["if-none-match"], "\"v1\"");
  EXPECT_EQ(seen[0].headers["if-modified-since"], "Tue, 01 Aug 2023 10:00:00 GMT");
}

TEST_F(CurlDownloaderTest, FollowsRedirectsAndKeepsFinalValidators) {
  std::string body = pattern(3000);
  server.route("/old", {{302, "moved", {"Location: /new", "ETag: \"old\""}}});
  server.route("/new", {{200, body, {"ETag: \"new\""}}});
  server.route("/loop", {{302, "", {"Location: /loop"}}});
  auto res = fetch(req("/old", body));
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->etag, "\"new\"");
  EXPECT_EQ(sink.data(), body);
  auto loop = fetch(req("/loop", body));
  ASSERT_FALSE(loop.ok());
  EXPECT_FALSE(loop.error().transient);
  EXPECT_EQ(server.hits("/loop"), 11);  // the request and 10 redirects
}

TEST_F(CurlDownloaderTest, StalledTransferTimesOutAndIsRetried) {
  std::string body = pattern(10000);
  Reply stalled{200, body};
  stalled.stall = milliseconds(5000);
  server.route("/f", {stalled, {200, body}});
  options.low_speed_bytes = 100000;  // curl averages over seconds; the first half is 5000 bytes
  options.low_speed_time = std::chrono::seconds(1);
  auto start = Clk::now();
  auto res = fetch(req("/f", body));
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->attempts, 2);
  EXPECT_EQ(sink.data(), body);
  EXPECT_LT(Clk::now() - start, milliseconds(4000));
}

TEST_F(CurlDownloaderTest, KeepsConnectionsAlive) {
  std::vector<DownloadJob> jobs;
  std::vector<MemorySink> sinks(30);
  for (int i = 0; i < 30; ++i) {
    std::string path = "/f" + std::to_string(i);
    server.route(path, {{200, pattern(2000 + i)}});
    jobs.push_back({req(path, pattern(2000 + i)), &sinks[i]});
  }
  options.fixed_concurrency = 1;
  auto d = make();
  int ok = 0;
  d->run(jobs, [&](size_t, const Result<FetchResult>& r) { ok += r.ok(); });
  // A second run reuses the same connection too.
  d->run(jobs, [&](size_t, const Result<FetchResult>& r) { ok += r.ok(); });
  EXPECT_EQ(ok, 60);
  EXPECT_EQ(server.connections(), 1);
}

TEST_F(CurlDownloaderTest, FixedConcurrencyLimitsRequestsInFlight) {
  std::vector<DownloadJob> jobs;
  std::vector<MemorySink> sinks(12);
  for (int i = 0; i < 12; ++i) {
    std::string path = "/f" + std::to_string(i);
    Reply r{200, "x"};
    r.delay = milliseconds(40);
    server.route(path, {r});
    jobs.push_back({req(path, "x"), &sinks[i]});
  }
  options.fixed_concurrency = 3;
  int ok = 0;
  make()->run(jobs, [&](size_t, const Result<FetchResult>& r) { ok += r.ok(); });
  EXPECT_EQ(ok, 12);
  EXPECT_EQ(server.max_in_flight(), 3);
}

TEST_F(CurlDownloaderTest, StartsSeveralTransfersAtOnce) {
  std::vector<DownloadJob> jobs;
  std::vector<MemorySink> sinks(20);
  for (int i = 0; i < 20; ++i) {
    std::string path = "/f" + std::to_string(i);
    Reply r{200, "x"};
    r.delay = milliseconds(50);
    server.route(path, {r});
    jobs.push_back({req(path, "x"), &sinks[i]});
  }
  int ok = 0;
  make()->run(jobs, [&](size_t, const Result<FetchResult>& r) { ok += r.ok(); });
  EXPECT_EQ(ok, 20);
  EXPECT_GE(server.max_in_flight(), options.initial_concurrency);
}

// A 429 with Retry-After pauses its host, and the delayed retry blocks no other host.
TEST_F(CurlDownloaderTest, RetryAfterPausesHostWithoutBlockingOthers) {
  TestServer other;
  server.route("/a", {{429, "slow down", {"Retry-After: 1"}}, {200, "a"}});
  server.route("/b", {{200, "b"}});
  std::vector<DownloadJob> jobs;
  std::vector<MemorySink> sinks(12);
  jobs.push_back({req("/a", "a"), &sinks[0]});
  jobs.push_back({req("/b", "b"), &sinks[1]});
  for (int i = 0; i < 10; ++i) {
    std::string path = "/o" + std::to_string(i);
    Reply r{200, "o"};
    r.delay = milliseconds(30);
    other.route(path, {r});
    FetchRequest fr;
    fr.url = other.url(path);
    jobs.push_back({fr, &sinks[2 + i]});
  }
  options.fixed_concurrency = 1;
  std::vector<size_t> order;
  std::vector<int> calls(jobs.size());
  make()->run(jobs, [&](size_t i, const Result<FetchResult>& r) {
    EXPECT_TRUE(r.ok()) << r.error().message;
    order.push_back(i);
    ++calls[i];
  });
  for (int c : calls) EXPECT_EQ(c, 1);
  auto a = server.requests("/a");
  auto b = server.requests("/b");
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_GE(a[1].at - a[0].at, milliseconds(950));
  EXPECT_GE(b[0].at - a[0].at, milliseconds(950));  // host paused
  // The other host's ten jobs (about 300 ms) all finished during the pause.
  ASSERT_EQ(order.size(), jobs.size());
  for (size_t k = 0; k < 10; ++k) EXPECT_GE(order[k], 2u) << k;
}

TEST_F(CurlDownloaderTest, ReportsProgressAtMostEvery200ms) {
  std::vector<DownloadJob> jobs;
  std::vector<MemorySink> sinks(16);
  for (int i = 0; i < 16; ++i) {
    std::string path = "/f" + std::to_string(i);
    Reply r{200, pattern(1000)};
    r.delay = milliseconds(50);
    server.route(path, {r});
    jobs.push_back({req(path, pattern(1000)), &sinks[i]});
  }
  jobs.push_back({req("/missing", "x"), &sink});
  options.fixed_concurrency = 2;
  std::vector<Clk::time_point> times;
  DownloadProgress last;
  int done = 0;
  make()->run(
      jobs, [&](size_t, const Result<FetchResult>&) { ++done; },
      [&](const DownloadProgress& p) {
        times.push_back(Clk::now());
        EXPECT_LE(p.active, 2);
        EXPECT_GE(p.files_done, last.files_done);
        last = p;
      });
  EXPECT_EQ(done, 17);
  ASSERT_GE(times.size(), 2u);  // the run takes about 450 ms
  for (size_t i = 1; i < times.size(); ++i) EXPECT_GE(times[i] - times[i - 1], milliseconds(199));
  EXPECT_EQ(last.files_total, 17u);
  EXPECT_EQ(last.bytes_expected, 16u * 1000 + 1);
  EXPECT_GT(last.bytes_done, 0u);
}

}  // namespace
}  // namespace depot

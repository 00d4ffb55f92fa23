// IndexFetcher against a scripted loopback server: batches in request order, optional 404s,
// retries, conditional requests against the committed copy, and no request at all when the
// root already names the committed copy.

#include "mirror/index_fetcher.h"

#include <gtest/gtest.h>

#include <fstream>

#include "core/digest.h"
#include "storage/fs/fs_target.h"
#include "support/memory_sink.h"
#include "support/temp_dir.h"
#include "support/test_http_server.h"

namespace depot {
namespace {

using testing::Reply;
using testing::TestServer;

std::string read(const std::shared_ptr<IndexContent>& content) {
  if (!content) return "<no content>";
  auto bytes = read_content(*content, "test");
  return bytes.ok() ? *bytes : "<error: " + bytes.error().message + ">";
}

class IndexFetcherTest : public ::testing::Test {
 protected:
  IndexFetcherTest() {
    DownloadOptions options;
    options.retry.base_delay = std::chrono::milliseconds(2);
    options.retry.max_delay = std::chrono::milliseconds(10);
    downloader_ = make_curl_downloader(options, system_clock(), null_logger());
    auto target = open_fs_target(dir_.path());
    target_ = std::move(*target);
    fetcher_ = std::make_unique<IndexFetcher>(*target_, *downloader_, 1 << 20,
                                              [this](const RelPath& p) -> const FileRecord* {
                                                auto it = records_.find(p.str());
                                                return it == records_.end() ? nullptr : &it->second;
                                              });
  }

  IndexRequest request(const std::string& name, bool optional = false) {
    return IndexRequest{server_.url("/" + name), *RelPath::parse("index/" + name), optional};
  }

  // Commits `body` at index/<name> with an ETag, as an earlier run would have.
  void commit(const std::string& name, const std::string& body, const std::string& etag) {
    auto began = target_->begin_write(*RelPath::parse("index/" + name));
    ASSERT_TRUE(began.ok());
    std::unique_ptr<WriteTxn> txn = std::move(*began);
    ASSERT_TRUE(txn->write(std::as_bytes(std::span(body))).ok());
    ASSERT_TRUE(txn->close().ok());
    std::vector<std::unique_ptr<WriteTxn>> txns;
    txns.push_back(std::move(txn));
    ASSERT_TRUE(target_->commit(txns).ok());
    FileRecord& r = records_["index/" + name];
    r.path = "index/" + name;
    r.size = body.size();
    r.digests.sha256 = sha256_hex(body);
    r.etag = etag;
  }

  TestServer server_;
  testing::TempDir dir_;
  std::unique_ptr<Downloader> downloader_;
  std::unique_ptr<Target> target_;
  std::map<std::string, FileRecord> records_;
  std::unique_ptr<IndexFetcher> fetcher_;
};

TEST_F(IndexFetcherTest, BatchAnswersInRequestOrder) {
  std::vector<IndexRequest> reqs;
  for (int i = 0; i < 40; ++i) {
    std::string name = "f" + std::to_string(i);
    Reply reply(200, "body of " + name, {"ETag: \"e" + name + "\""});
    reply.delay = std::chrono::milliseconds(20);  // long enough for transfers to overlap
    server_.route("/" + name, {reply});
    reqs.push_back(request(name));
  }
  server_.route("/flaky", {Reply(503, ""), Reply(200, "finally")});
  reqs.push_back(request("flaky"));
  reqs.push_back(request("absent", true));
  reqs.push_back(request("required"));

  auto results = fetcher_->fetch_all(reqs, 16);
  ASSERT_EQ(results.size(), reqs.size());
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].error().message;
    ASSERT_TRUE(*results[i]);
    EXPECT_EQ(read((*results[i])->content), "body of f" + std::to_string(i));
    EXPECT_EQ((*results[i])->etag, "\"ef" + std::to_string(i) + "\"");
    EXPECT_FALSE((*results[i])->unchanged);
  }
  ASSERT_TRUE(results[40].ok());
  EXPECT_EQ(read((*results[40])->content), "finally");
  ASSERT_TRUE(results[41].ok());
  EXPECT_FALSE(*results[41]);  // optional 404
  ASSERT_FALSE(results[42].ok());
  EXPECT_NE(results[42].error().message.find("/required"), std::string::npos);
  EXPECT_GT(server_.max_in_flight(), 1);  // fetched concurrently

  const RelPath f3 = *RelPath::parse("index/f3");
  EXPECT_NE((*results[3])->content->take_txn(f3), nullptr);
  EXPECT_EQ((*results[3])->content->take_txn(f3), nullptr);  // ownership passed once
}

TEST_F(IndexFetcherTest, NotModifiedKeepsTheCommittedCopy) {
  commit("a", "old a", "\"v1\"");
  server_.route("/a", {Reply(304, "", {"ETag: \"v1\""})});
  IndexRequest req = request("a");
  auto results = fetcher_->fetch_all(std::span(&req, 1));
  ASSERT_TRUE(results[0].ok()) << results[0].error().message;
  EXPECT_TRUE((*results[0])->unchanged);
  EXPECT_EQ(read((*results[0])->content), "old a");
  EXPECT_EQ(server_.requests("/a").at(0).headers["if-none-match"], "\"v1\"");
  EXPECT_EQ((*results[0])->content->take_txn(*RelPath::parse("index/a")),
            nullptr);  // nothing new to commit
}

TEST_F(IndexFetcherTest, SameBytesWithoutValidatorsAreUnchanged) {
  commit("a", "same", "");
  server_.route("/a", {Reply(200, "same")});
  auto res = fetcher_->fetch(request("a"));
  ASSERT_TRUE(res.ok());
  EXPECT_TRUE((*res)->unchanged);
}

TEST_F(IndexFetcherTest, RootNamingTheCommittedCopyAsksNothing) {
  commit("a", "signed a", "\"v1\"");
  IndexRequest req = request("a");
  req.expected.sha256 = sha256_hex("signed a");
  auto res = fetcher_->fetch(req);
  ASSERT_TRUE(res.ok());
  EXPECT_TRUE((*res)->unchanged);
  EXPECT_EQ(server_.hits("/a"), 0);

  req.expected.sha256 = sha256_hex("new a");  // outdated copy: unconditional request
  server_.route("/a", {Reply(200, "new a")});
  res = fetcher_->fetch(req);
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_FALSE((*res)->unchanged);
  EXPECT_EQ(server_.requests("/a").at(0).headers.count("if-none-match"), 0u);
}

TEST_F(IndexFetcherTest, ObserverSeesTheBodyAsItStreams) {
  std::string body(300000, 'p');
  server_.route("/big", {Reply(200, body)});
  testing::MemorySink seen;
  IndexRequest req = request("big");
  req.observer = &seen;
  auto results = fetcher_->fetch_all(std::span(&req, 1));
  ASSERT_TRUE(results[0].ok()) << results[0].error().message;
  EXPECT_EQ(seen.data(), body);
  EXPECT_EQ(read((*results[0])->content), body);
}

TEST_F(IndexFetcherTest, ContentReadsTheCommittedFileAfterItsTransactionIsTaken) {
  server_.route("/a", {Reply(200, "fresh a")});
  auto res = fetcher_->fetch(request("a"));
  ASSERT_TRUE(res.ok()) << res.error().message;
  std::shared_ptr<IndexContent> content = (*res)->content;
  std::vector<std::unique_ptr<WriteTxn>> txns;
  txns.push_back(content->take_txn(*RelPath::parse("index/a")));
  ASSERT_NE(txns[0], nullptr);
  ASSERT_TRUE(target_->commit(txns).ok());
  EXPECT_EQ(read(content), "fresh a");
}

TEST_F(IndexFetcherTest, WrongDigestFailsNamingTheUrl) {
  server_.route("/a", {Reply(200, "tampered")});
  IndexRequest req = request("a");
  req.expected.sha256 = sha256_hex("genuine");
  auto results = fetcher_->fetch_all(std::span(&req, 1));
  ASSERT_FALSE(results[0].ok());
  EXPECT_NE(results[0].error().message.find(req.url), std::string::npos)
      << results[0].error().message;
}

}  // namespace
}  // namespace depot

#include "cluster/node_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <thread>

#include "core/digest.h"
#include "node_fixture.h"
#include "support/temp_dir.h"

namespace depot::cluster {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr const char* kToken = fixture::kNodeToken;

// Serves `data` in pieces of at most `chunk` bytes.
BodyReader reader_of(std::string data, size_t chunk = 1 << 20) {
  auto pos = std::make_shared<size_t>(0);
  return [data = std::move(data), pos, chunk](char* buf, size_t n) -> long {
    size_t k = std::min({n, chunk, data.size() - *pos});
    std::memcpy(buf, data.data() + *pos, k);
    *pos += k;
    return static_cast<long>(k);
  };
}

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7) % 26);
  return s;
}

// A port nothing listens on (bound, then closed).
uint16_t closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// A real storage node `n1` (node_fixture.h) on a loopback port, its token kToken with role full.
class NodeClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = std::make_unique<fixture::InProcessNode>(dir_.path() / "node", "n1");
    node_->start();
    root_ = node_->root();
    url_ = node_->url();
  }

  NodeClient client(std::string token = kToken) const {
    return NodeClient(NodeEndpoint{"n1", url_, std::move(token)});
  }

  NodeClient::PutResult put(const std::string& path, const std::string& body) {
    return client().put(path, body.size(), sha256_hex(body), reader_of(body));
  }

  // GET into a string; `start` receives on_start's arguments.
  Result<uint64_t> get(const std::string& path, uint64_t offset, std::optional<uint64_t> end,
                       std::string& out, std::pair<uint64_t, long>* start = nullptr) {
    out.clear();
    return client().get(
        path, offset, end,
        [&](uint64_t size, long status) {
          if (start) *start = {size, status};
        },
        [&](const char* d, size_t n) {
          out.append(d, n);
          return true;
        });
  }

  // Waits up to 5 s for uploads in flight to be dropped.
  bool inflight_drained() {
    for (int i = 0; i < 100; ++i) {
      auto s = client().status();
      if (s.ok() && s->inflight == 0 && fs::is_empty(root_ / ".depot-node" / "tmp")) return true;
      std::this_thread::sleep_for(milliseconds(50));
    }
    return false;
  }

  testing::TempDir dir_;
  std::unique_ptr<fixture::InProcessNode> node_;
  fs::path root_;
  std::string url_;
};

TEST_F(NodeClientTest, Status) {
  auto s = client().status("gw1");
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  EXPECT_EQ(s->name, "n1");
  EXPECT_EQ(s->files, 0u);
  EXPECT_EQ(s->used, 0u);
  EXPECT_EQ(s->inflight, 0u);
  EXPECT_GT(s->free, 0u);
}

TEST_F(NodeClientTest, PutHeadGetInventory) {
  const std::string path = "pool/main/a b+c~%_1.0.deb";
  const std::string body = pattern(100000);
  auto r = put(path, body);
  ASSERT_TRUE(r.stored) << r.failure.status << " " << r.failure.message;
  EXPECT_EQ(r.stored->path, path);
  EXPECT_EQ(r.stored->size, body.size());
  EXPECT_EQ(r.stored->sha256, sha256_hex(body));
  EXPECT_GT(r.stored->seq, 0);
  EXPECT_TRUE(fs::is_regular_file(root_ / path));

  auto h = client().head(path);
  ASSERT_TRUE(h.ok()) << h.error().to_string();
  ASSERT_TRUE(h->has_value());
  EXPECT_EQ((*h)->size, body.size());
  EXPECT_EQ((*h)->sha256, sha256_hex(body));
  EXPECT_EQ((*h)->seq, r.stored->seq);

  std::string out;
  std::pair<uint64_t, long> start;
  auto whole = get(path, 0, std::nullopt, out, &start);
  ASSERT_TRUE(whole.ok()) << whole.error().to_string();
  EXPECT_EQ(*whole, body.size());
  EXPECT_EQ(out, body);
  EXPECT_EQ(start, std::make_pair(uint64_t{body.size()}, 200L));

  auto tail = get(path, 70000, std::nullopt, out, &start);
  ASSERT_TRUE(tail.ok()) << tail.error().to_string();
  EXPECT_EQ(out, body.substr(70000));
  EXPECT_EQ(start, std::make_pair(uint64_t{body.size()}, 206L));

  auto mid = get(path, 10, 20, out, &start);
  ASSERT_TRUE(mid.ok()) << mid.error().to_string();
  EXPECT_EQ(*mid, 10u);
  EXPECT_EQ(out, body.substr(10, 10));
  EXPECT_EQ(start, std::make_pair(uint64_t{body.size()}, 206L));

  auto head_part = get(path, 0, 5, out, &start);
  ASSERT_TRUE(head_part.ok()) << head_part.error().to_string();
  EXPECT_EQ(out, body.substr(0, 5));
  EXPECT_EQ(start.second, 206L);

  auto past_end = get(path, 99990, 200000, out);  // clipped to the file
  ASSERT_TRUE(past_end.ok()) << past_end.error().to_string();
  EXPECT_EQ(out, body.substr(99990));

  auto inv = client().inventory(0, 100);
  ASSERT_TRUE(inv.ok()) << inv.error().to_string();
  ASSERT_EQ(inv->changes.size(), 1u);
  const NodeChange& c = inv->changes[0];
  EXPECT_FALSE(c.deleted);
  EXPECT_EQ(c.path, path);
  EXPECT_EQ(c.size, body.size());
  EXPECT_EQ(c.sha256, sha256_hex(body));
  EXPECT_EQ(c.seq, r.stored->seq);
  EXPECT_EQ(inv->last, r.stored->seq);
  EXPECT_FALSE(inv->more);
}

TEST_F(NodeClientTest, EmptyFile) {
  auto r = put("empty", "");
  ASSERT_TRUE(r.stored) << r.failure.message;
  std::string out;
  std::pair<uint64_t, long> start{99, 0};
  auto g = get("empty", 0, std::nullopt, out, &start);
  ASSERT_TRUE(g.ok()) << g.error().to_string();
  EXPECT_EQ(*g, 0u);
  EXPECT_EQ(start, std::make_pair(uint64_t{0}, 200L));
}

TEST_F(NodeClientTest, ReusesItsConnection) {
  ASSERT_TRUE(put("k", "keep").stored);
  std::string out;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(client().status().ok());
    ASSERT_TRUE(client().head("k").ok());
    ASSERT_TRUE(get("k", 1, std::nullopt, out).ok());
  }
  EXPECT_EQ(node_->metrics().open_connections.load(), 1);
}

TEST_F(NodeClientTest, InventoryPages) {
  for (const char* p : {"a", "b", "c"}) ASSERT_TRUE(put(p, p).stored);
  ASSERT_TRUE(*client().remove("b"));
  auto page = client().inventory(0, 2);
  ASSERT_TRUE(page.ok()) << page.error().to_string();
  ASSERT_EQ(page->changes.size(), 2u);
  EXPECT_TRUE(page->more);
  auto rest = client().inventory(page->last, 10);
  ASSERT_TRUE(rest.ok()) << rest.error().to_string();
  ASSERT_EQ(rest->changes.size(), 1u);
  EXPECT_TRUE(rest->changes[0].deleted);
  EXPECT_EQ(rest->changes[0].path, "b");
  EXPECT_FALSE(rest->more);
}

TEST_F(NodeClientTest, WrongDigestIsRefused) {
  const std::string body = pattern(5000);
  auto r = client().put("x/y", body.size(), sha256_hex("other"), reader_of(body));
  EXPECT_FALSE(r.stored);
  EXPECT_EQ(r.failure.status, 409);
  EXPECT_NE(r.failure.message.find("node n1: PUT x/y: 409"), std::string::npos)
      << r.failure.message;
  auto h = client().head("x/y");
  ASSERT_TRUE(h.ok());
  EXPECT_FALSE(h->has_value());
}

TEST_F(NodeClientTest, TokenIsNeeded) {
  const std::string body = pattern(3 << 20);  // refused before the body is sent
  auto r = client("").put("big", body.size(), sha256_hex(body), reader_of(body));
  EXPECT_FALSE(r.stored);
  EXPECT_EQ(r.failure.status, 401);
  EXPECT_NE(r.failure.message.find("node n1: PUT big: 401 "), std::string::npos)
      << r.failure.message;
  auto wrong = client("nope").remove("big");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, ErrorCode::kHttp);
  EXPECT_NE(wrong.error().message.find("401"), std::string::npos);
  auto s = client("nope").status();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("node n1: GET status: 401"), std::string::npos)
      << s.error().message;
  // The connection refused mid-PUT is not reused wrongly: the next call works.
  EXPECT_TRUE(put("small", "x").stored);
}

TEST_F(NodeClientTest, AbortedBodyStoresNothing) {
  const std::string body = pattern(1 << 20);
  size_t sent = 0;
  BodyReader reader = [&](char* buf, size_t n) -> long {
    if (sent >= 256 * 1024) return -1;
    size_t k = std::min<size_t>(n, 16 * 1024);
    std::memcpy(buf, body.data() + sent, k);
    sent += k;
    return static_cast<long>(k);
  };
  auto r = client().put("half", body.size(), sha256_hex(body), reader);
  EXPECT_FALSE(r.stored);
  EXPECT_EQ(r.failure.status, 0);
  EXPECT_NE(r.failure.message.find("node n1: PUT half: the body reader aborted after"),
            std::string::npos)
      << r.failure.message;
  EXPECT_TRUE(inflight_drained());
  auto h = client().head("half");
  ASSERT_TRUE(h.ok());
  EXPECT_FALSE(h->has_value());
  EXPECT_FALSE(fs::exists(root_ / "half"));
}

TEST_F(NodeClientTest, ShortBodyIsAborted) {
  auto r = client().put("short", 100, sha256_hex("x"), reader_of("only this"));
  EXPECT_FALSE(r.stored);
  EXPECT_NE(r.failure.message.find("the body ended after 9 of 100 bytes"), std::string::npos)
      << r.failure.message;
  EXPECT_TRUE(inflight_drained());
}

TEST_F(NodeClientTest, RemoveThenMissing) {
  ASSERT_TRUE(put("d/e", "data").stored);
  auto first = client().remove("d/e", "gw1");
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  EXPECT_TRUE(*first);
  auto second = client().remove("d/e");
  ASSERT_TRUE(second.ok()) << second.error().to_string();
  EXPECT_FALSE(*second);
  EXPECT_FALSE(fs::exists(root_ / "d/e"));
}

TEST_F(NodeClientTest, GetMissingIsNotFound) {
  std::string out;
  auto g = get("no/such.deb", 0, std::nullopt, out);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().code, ErrorCode::kNotFound);
  EXPECT_NE(g.error().message.find("node n1: GET no/such.deb: 404"), std::string::npos)
      << g.error().message;
  EXPECT_TRUE(out.empty());
  auto bad = get("x", 5, 5, out);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(NodeClientTest, SinkStopsTransfer) {
  const std::string body = pattern(4 << 20);
  ASSERT_TRUE(put("big", body).stored);
  size_t got = 0;
  auto g = client().get(
      "big", 0, std::nullopt, nullptr, [&](const char*, size_t n) {
        got += n;
        return false;
      });
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().code, ErrorCode::kIo);
  EXPECT_NE(g.error().message.find("node n1: GET big: the sink stopped"), std::string::npos)
      << g.error().message;
  EXPECT_GT(got, 0u);
  EXPECT_LT(got, body.size());
  EXPECT_TRUE(client().status().ok());  // the handle is usable again
}

TEST(NodeClient, UnreachableNodeFailsFast) {
  NodeTimeouts t;
  t.connect = milliseconds(2000);
  NodeClient c(NodeEndpoint{"n9", "http://127.0.0.1:" + std::to_string(closed_port()), "t"}, t);
  auto began = std::chrono::steady_clock::now();
  auto s = c.status();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kUnreachable);
  EXPECT_TRUE(s.error().transient);
  EXPECT_NE(s.error().message.find("node n9: GET http://127.0.0.1:"), std::string::npos)
      << s.error().message;
  auto r = c.put("a", 1, sha256_hex("a"), reader_of("a"));
  EXPECT_EQ(r.failure.status, 0);
  EXPECT_NE(r.failure.message.find("node n9"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - began, milliseconds(1500));
}

TEST(NodeClient, FileUrlEncodesSegments) {
  NodeClient c(NodeEndpoint{"n1", "http://h:1", ""});
  EXPECT_EQ(c.file_url("pool/a b+c/%x~_.deb"), "http://h:1/pool/a%20b%2Bc/%25x~_.deb");
}

}  // namespace
}  // namespace depot::cluster

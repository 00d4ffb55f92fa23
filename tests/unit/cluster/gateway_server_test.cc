#include "cluster/gateway_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "cluster/node_client.h"
#include "core/digest.h"
#include "core/logger.h"
#include "node_fixture.h"
#include "support/temp_dir.h"

namespace depot::cluster {
namespace {

using fixture::InProcessNode;
using fixture::kNodeToken;
using std::chrono::milliseconds;

constexpr const char* kAppend = "append-token";
constexpr const char* kFull = "full-token";

// Sends `request` on a fresh connection and reads until the server closes it or `answers`
// answers arrived (counted by status lines); returns everything read.
std::string http_exchange(uint16_t port, const std::string& request, int answers = 1) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return "connect failed";
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string got;
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
    size_t count = 0;
    for (size_t at = got.find("HTTP/1.1 "); at != std::string::npos;
         at = got.find("HTTP/1.1 ", at + 1)) {
      if (got.compare(at, 12, "HTTP/1.1 100") != 0) count++;
    }
    // Complete once the last answer's body (Content-Length) arrived.
    size_t last = got.rfind("HTTP/1.1 ");
    size_t head_end = got.find("\r\n\r\n", last);
    size_t cl = got.find("Content-Length: ", last);
    if (count >= static_cast<size_t>(answers) && head_end != std::string::npos &&
        cl != std::string::npos && cl < head_end) {
      size_t len = std::stoul(got.substr(cl + 16));
      bool head = request.rfind("HEAD ", 0) == 0;
      if (head || got.size() >= head_end + 4 + len) break;
    }
  }
  ::close(fd);
  return got;
}

int status_of(const std::string& answer) {
  size_t at = answer.find("HTTP/1.1 ");
  while (at != std::string::npos && answer.compare(at, 12, "HTTP/1.1 100") == 0) {
    at = answer.find("HTTP/1.1 ", at + 1);
  }
  return at == std::string::npos ? 0 : std::stoi(answer.substr(at + 9, 3));
}

std::string put_request(const std::string& path, const std::string& body, const char* token,
                        const std::string& extra = "") {
  return "PUT " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nX-Depot-Sha256: " + sha256_hex(body) + "\r\n" +
         (token ? std::string("Authorization: Bearer ") + token + "\r\n" : "") + extra + "\r\n" +
         body;
}

class GatewayServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* n : {"n1", "n2"}) {
      nodes_.push_back(std::make_unique<InProcessNode>(dir_.path() / n, n));
      nodes_.back()->start();
    }
    GatewayOptions o;
    o.name = "gw";
    o.state_dir = dir_.path() / "state";
    o.copies = 2;
    o.check_interval = milliseconds(100);
    for (const auto& n : nodes_) o.nodes.push_back({n->name(), n->url(), kNodeToken});
    gw_ = std::make_unique<Gateway>(o, null_logger());
    ASSERT_TRUE(gw_->start().ok());
    auth_ = std::move(AuthTable::parse(std::string("a:") + sha256_hex(kAppend) + ":append\nf:" +
                                           sha256_hex(kFull) + ":full\n",
                                       "auth")
                          .value());
    GatewayServerOptions so;
    so.auth = &auth_;
    server_ = std::make_unique<GatewayServer>(so, *gw_, null_logger());
    port_ = server_->listen().value();
    thread_ = std::thread([this] { server_->run(); });
    ASSERT_EQ(status_of(http_exchange(port_, put_request("/pool/a.deb", body_, kFull))), 201);
  }
  void TearDown() override {
    server_->stop();
    thread_.join();
    gw_->stop();
  }

  std::string get(const std::string& path, const std::string& headers = "") {
    return http_exchange(port_, "GET " + path + " HTTP/1.1\r\nHost: x\r\n" + headers + "\r\n");
  }

  depot::testing::TempDir dir_;
  std::vector<std::unique_ptr<InProcessNode>> nodes_;
  std::unique_ptr<Gateway> gw_;
  AuthTable auth_;
  std::unique_ptr<GatewayServer> server_;
  uint16_t port_ = 0;
  std::thread thread_;
  const std::string body_ = std::string(10000, 'q') + "tail";
};

TEST_F(GatewayServerTest, GetHeadRangeAndConditionalAnswers) {
  std::string whole = get("/pool/a.deb");
  EXPECT_EQ(status_of(whole), 200);
  EXPECT_NE(whole.find("X-Depot-Sha256: " + sha256_hex(body_)), std::string::npos);
  EXPECT_EQ(whole.substr(whole.size() - 4), "tail");
  std::string part = get("/pool/a.deb", "Range: bytes=10000-\r\n");
  EXPECT_EQ(status_of(part), 206);
  EXPECT_NE(part.find("Content-Range: bytes 10000-10003/10004"), std::string::npos);
  EXPECT_EQ(part.substr(part.size() - 4), "tail");
  EXPECT_EQ(status_of(get("/pool/a.deb", "Range: bytes=20000-\r\n")), 416);
  const std::string etag = "\"" + sha256_hex(body_) + "\"";
  EXPECT_EQ(status_of(get("/pool/a.deb", "If-None-Match: " + etag + "\r\n")), 304);
  std::string head = http_exchange(port_, "HEAD /pool/a.deb HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(status_of(head), 200);
  EXPECT_NE(head.find("Content-Length: 10004"), std::string::npos);
  EXPECT_EQ(status_of(get("/pool/missing.deb")), 404);
  EXPECT_EQ(status_of(get("/pool/../etc/passwd")), 400);
}

TEST_F(GatewayServerTest, LargeBodiesAreSplicedAndTheConnectionStaysUsable) {
  std::string big(3 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + (i * 31) % 26);
  ASSERT_EQ(status_of(http_exchange(port_, put_request("/pool/big.bin", big, kFull))), 201);
  const std::string got = http_exchange(
      port_, "GET /pool/big.bin HTTP/1.1\r\nHost: x\r\n\r\n"
             "GET /pool/big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=1000-\r\n\r\n", 2);
  const size_t head1 = got.find("\r\n\r\n");
  ASSERT_NE(head1, std::string::npos);
  EXPECT_EQ(status_of(got.substr(0, head1)), 200);
  EXPECT_TRUE(got.compare(head1 + 4, big.size(), big) == 0);
  const std::string second = got.substr(head1 + 4 + big.size());
  const size_t head2 = second.find("\r\n\r\n");
  ASSERT_NE(head2, std::string::npos);
  EXPECT_EQ(status_of(second.substr(0, head2)), 206);
  EXPECT_TRUE(second.substr(head2 + 4) == big.substr(1000));
  // All but the first bytes of each answer skipped user space.
  EXPECT_GE(gw_->metrics().bytes_spliced.load(), 2 * (big.size() - 64 * 1024) - 1000);
  EXPECT_NE(get("/metrics").find("depot_cluster_spliced_bytes_total"), std::string::npos);
}

TEST_F(GatewayServerTest, DirectoryUrlsNameTheirIndexHtml) {
  const std::string page = "<a href=\"x-1.0.whl\">x-1.0.whl</a>";
  ASSERT_EQ(status_of(http_exchange(port_, put_request("/simple/x/index.html", page, kFull))), 201);
  std::string dir = get("/simple/x/");
  EXPECT_EQ(status_of(dir), 200);
  EXPECT_NE(dir.find("Content-Type: text/html"), std::string::npos);
  EXPECT_EQ(dir.substr(dir.size() - page.size()), page);
  std::string bare = get("/simple/x?q=1");
  EXPECT_EQ(status_of(bare), 301);
  EXPECT_NE(bare.find("Location: /simple/x/?q=1"), std::string::npos);
  std::string none = get("/simple/y/");
  EXPECT_EQ(status_of(none), 404);
}

TEST_F(GatewayServerTest, RedirectModeSendsClientsOnlyToNodesCheckedHealthy) {
  GatewayServerOptions so;
  so.redirect = true;
  GatewayServer redirecting(so, *gw_, null_logger());
  const uint16_t port = redirecting.listen().value();
  std::thread t([&] { redirecting.run(); });
  std::string first = http_exchange(port, "GET /pool/a.deb HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(status_of(first), 302);
  const bool to_node = first.find("Location: " + nodes_[0]->url() + "/pool/a.deb") != std::string::npos ||
                       first.find("Location: " + nodes_[1]->url() + "/pool/a.deb") != std::string::npos;
  EXPECT_TRUE(to_node) << first;
  // With both nodes stopped, no holder was checked healthy within the interval: the gateway
  // answers itself (and fails, as nothing holds the file any more) instead of redirecting.
  nodes_[0]->stop();
  nodes_[1]->stop();
  std::this_thread::sleep_for(milliseconds(350));
  std::string after = http_exchange(port, "GET /pool/a.deb HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(status_of(after), 302) << after;
  redirecting.stop();
  t.join();
}

TEST_F(GatewayServerTest, WritesNeedTheRightRole) {
  EXPECT_EQ(status_of(http_exchange(port_, put_request("/pool/n.deb", "new", nullptr))), 401);
  EXPECT_EQ(status_of(http_exchange(port_, put_request("/pool/n.deb", "new", "bogus"))), 401);
  EXPECT_EQ(status_of(http_exchange(port_, put_request("/pool/n.deb", "new", kAppend))), 201);
  EXPECT_EQ(status_of(http_exchange(port_, put_request("/pool/n.deb", "newer", kAppend))), 403);
  EXPECT_EQ(status_of(http_exchange(port_, put_request("/pool/n.deb", "newer", kFull))), 201);
  const std::string del = "DELETE /pool/n.deb HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ";
  EXPECT_EQ(status_of(http_exchange(port_, del + kAppend + "\r\n\r\n")), 403);
  EXPECT_EQ(status_of(http_exchange(port_, del + kFull + "\r\n\r\n")), 200);
}

TEST_F(GatewayServerTest, MalformedUploadsAreRefusedAndTheConnectionStaysUsable) {
  const std::string no_sha = "PUT /pool/x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                             "Authorization: Bearer " + std::string(kFull) + "\r\n\r\nabc";
  // A refused small body is read and dropped: the next request on the connection is answered.
  std::string two = http_exchange(port_, no_sha + "GET /pool/a.deb HTTP/1.1\r\nHost: x\r\n\r\n", 2);
  EXPECT_EQ(status_of(two), 400);
  EXPECT_NE(two.find("HTTP/1.1 200"), std::string::npos);
  const std::string chunked = "PUT /pool/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                              "X-Depot-Sha256: " + sha256_hex("abc") +
                              "\r\nAuthorization: Bearer " + kFull + "\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
  EXPECT_EQ(status_of(http_exchange(port_, chunked)), 411);
  EXPECT_EQ(status_of(http_exchange(port_, "POST /pool/a.deb HTTP/1.1\r\nHost: x\r\n\r\n")), 405);
}

TEST_F(GatewayServerTest, LoopsAndLongChainsAre508) {
  EXPECT_EQ(status_of(get("/pool/a.deb", "X-Depot-Via: other, gw\r\n")), 508);
  EXPECT_EQ(status_of(get("/pool/a.deb", "X-Depot-Via: a,b,c,d,e,f,g,h\r\n")), 508);
  EXPECT_EQ(status_of(get("/pool/a.deb", "X-Depot-Via: a,b,c,d,e,f,g\r\n")), 200);
}

TEST_F(GatewayServerTest, AGatewayNodeReportsAHopAndReadsPreferLeafNodes) {
  NodeClient as_node({"gw", "http://127.0.0.1:" + std::to_string(port_), kFull});
  auto st = as_node.status();
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(st->hops, 1u);  // its nodes are leaves
  // An outer gateway over this one and the leaf n1, R=2: every path has one copy on each,
  // and a read starts at n1 whatever the placement order.
  GatewayOptions o;
  o.name = "outer";
  o.state_dir = dir_.path() / "outer-state";
  o.copies = 2;
  o.check_interval = milliseconds(100);
  o.nodes = {{"gw", as_node.endpoint().url, kFull}, {"n1", nodes_[0]->url(), kNodeToken}};
  Gateway outer(o, null_logger());
  ASSERT_TRUE(outer.start().ok());
  for (const NodeView& v : outer.nodes()) EXPECT_EQ(v.hops, v.name == "gw" ? 1u : 0u) << v.name;
  bool gateway_placed_first = false;
  for (int i = 0; i < 16; ++i) {
    const std::string path = "hops/" + std::to_string(i), body = "body " + path;
    size_t at = 0;
    PutReport rep = outer.put(path, body.size(), sha256_hex(body), [&](char* buf, size_t n) {
      const size_t k = std::min(n, body.size() - at);
      body.copy(buf, k, at);
      at += k;
      return static_cast<long>(k);
    }, true);
    ASSERT_EQ(rep.status, 201) << rep.message;
    auto where = outer.locate(path);
    ASSERT_TRUE(where.ok());
    ASSERT_EQ(where->nodes.size(), 2u);
    EXPECT_EQ(outer.nodes()[where->nodes[0]].name, "n1") << path;
    gateway_placed_first = gateway_placed_first || outer.whereis(path)->placement[0] == "gw";
  }
  EXPECT_TRUE(gateway_placed_first);  // the order above was not placement's by chance
  outer.stop();
}

TEST_F(GatewayServerTest, StatusWhereisListAndMetrics) {
  std::string where = get("/_depot/v1/cluster/whereis?path=pool/a.deb");
  EXPECT_EQ(status_of(where), 200);
  EXPECT_NE(where.find("\"node\":\"n1\""), std::string::npos);
  EXPECT_NE(where.find("\"node\":\"n2\""), std::string::npos);
  std::string list = get("/_depot/v1/cluster/list?limit=10");
  EXPECT_NE(list.find("\"path\":\"pool/a.deb\""), std::string::npos);
  EXPECT_NE(list.find("\"copies\":2"), std::string::npos);
  std::string metrics = get("/metrics");
  EXPECT_NE(metrics.find("depot_cluster_puts_total{code=\"201\"} 1"), std::string::npos);
  EXPECT_NE(metrics.find("depot_cluster_node_up{node=\"n1\"} 1"), std::string::npos);
  // Administration needs the full role.
  EXPECT_EQ(status_of(http_exchange(port_, "POST /_depot/v1/cluster/rebalance HTTP/1.1\r\nHost: x\r\n"
                                      "Authorization: Bearer " + std::string(kAppend) +
                                      "\r\nContent-Length: 0\r\n\r\n")),
            403);
  std::string fsck = http_exchange(port_, "POST /_depot/v1/cluster/fsck HTTP/1.1\r\nHost: x\r\n"
                                     "Authorization: Bearer " + std::string(kFull) +
                                     "\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(status_of(fsck), 200);
  EXPECT_NE(fsck.find("\"short_paths\":0"), std::string::npos);
}

}  // namespace
}  // namespace depot::cluster

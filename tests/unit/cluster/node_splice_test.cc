#include "cluster/node_splice.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <future>
#include <string>
#include <thread>

#include "core/unique_fd.h"
#include "node_fixture.h"
#include "support/temp_dir.h"

namespace depot::cluster {
namespace {

using fixture::InProcessNode;
using fixture::kNodeToken;
using std::chrono::milliseconds;

std::string body_of(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7919) % 26);
  return s;
}

// The client's side: a socket pair whose far end is read to the end on a thread of its own.
class Client {
 public:
  Client() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    near_.reset(fds[0]);
    far_.reset(fds[1]);
    received_ = std::async(std::launch::async, [this] {
      std::string got;
      char buf[65536];
      for (ssize_t n; (n = ::read(far_.get(), buf, sizeof buf)) > 0;) got.append(buf, n);
      return got;
    });
  }
  ~Client() {
    near_.reset();  // the reader sees the end
    if (received_.valid()) received_.wait();
  }
  int fd() const { return near_.get(); }
  // Everything the client received, the bytes that went through the sink first.
  std::string received() {
    near_.reset();
    return received_.get();
  }
  // The client goes away without reading.
  void leave() { ::shutdown(far_.get(), SHUT_RDWR); }

 private:
  UniqueFd near_, far_;
  std::future<std::string> received_;
};

// The next request header on `fd`; "" when the peer closed first.
std::string read_request(int fd) {
  std::string req;
  char c;
  while (req.find("\r\n\r\n") == std::string::npos) {
    if (::read(fd, &c, 1) != 1) return "";
    req += c;
  }
  return req;
}

// A node that answers its k-th connection with `scripts[k](fd)` once the first request header
// on it is read.
class FakeNode {
 public:
  explicit FakeNode(std::function<void(int)> script)
      : FakeNode(std::vector<std::function<void(int)>>{std::move(script)}) {}
  explicit FakeNode(std::vector<std::function<void(int)>> scripts) {
    listener_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    EXPECT_EQ(::bind(listener_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(listener_.get(), 1), 0);
    ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this, scripts] {
      for (const auto& script : scripts) {
        UniqueFd c(::accept(listener_.get(), nullptr, nullptr));
        request_ = read_request(c.get());
        if (request_.empty()) return;
        script(c.get());
      }
    });
  }
  ~FakeNode() { thread_.join(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::string& request() const { return request_; }

 private:
  UniqueFd listener_;
  uint16_t port_ = 0;
  std::thread thread_;
  std::string request_;
};

void write_all(int fd, const std::string& s) {
  for (size_t at = 0; at < s.size();) {
    ssize_t n = ::send(fd, s.data() + at, s.size() - at, MSG_NOSIGNAL);
    if (n <= 0) return;
    at += static_cast<size_t>(n);
  }
}

struct Got {
  Result<uint64_t> result = uint64_t{0};
  std::string through_sink;
  uint64_t file_size = 0;
  long status = 0;
};

Got fetch(const std::string& base, Client& client, SpliceOut& out, uint64_t offset = 0,
          std::optional<uint64_t> end = std::nullopt, milliseconds stall = milliseconds(15000)) {
  Got g;
  std::string pending;  // as the gateway does: held until flush
  out.fd = client.fd();
  out.flush = [&] {
    const bool ok = ::send(client.fd(), pending.data(), pending.size(), MSG_NOSIGNAL) ==
                    static_cast<ssize_t>(pending.size());
    pending.clear();
    return ok;
  };
  NodeTimeouts t;
  t.stall = stall;
  g.result = spliced_get({"n1", base, kNodeToken}, t, base + "/pool/big.bin", offset, end,
                         [&](uint64_t size, long status) {
                           g.file_size = size;
                           g.status = status;
                         },
                         [&](const char* d, size_t n) {
                           g.through_sink.append(d, n);
                           pending.append(d, n);
                           return true;
                         },
                         out, "gw");
  if (!pending.empty()) out.flush();
  return g;
}

class NodeSpliceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.path() / "n1" / "pool");
    std::ofstream(dir_.path() / "n1" / "pool" / "big.bin", std::ios::binary) << body_;
    node_ = std::make_unique<InProcessNode>(dir_.path() / "n1", "n1");
    node_->start();
  }
  depot::testing::TempDir dir_;
  const std::string body_ = body_of((9 << 20) + 5);  // above Beast's default body limit
  std::unique_ptr<InProcessNode> node_;
};

TEST_F(NodeSpliceTest, AWholeFileIsSplicedAfterItsFirstBytes) {
  Client client;
  SpliceOut out;
  Got g = fetch(node_->url(), client, out);
  ASSERT_TRUE(g.result.ok()) << g.result.error().message;
  EXPECT_EQ(g.status, 200);
  EXPECT_EQ(g.file_size, body_.size());
  EXPECT_EQ(*g.result, g.through_sink.size());
  EXPECT_GT(g.through_sink.size(), 0u);
  EXPECT_LE(g.through_sink.size(), 64u * 1024);
  EXPECT_EQ(out.moved, body_.size() - g.through_sink.size());
  EXPECT_FALSE(out.client_left);
  EXPECT_TRUE(client.received() == body_);
}

TEST_F(NodeSpliceTest, ARangeIsAskedForAndChecked) {
  Client client;
  SpliceOut out;
  Got g = fetch(node_->url(), client, out, 1000, 2'000'000);
  ASSERT_TRUE(g.result.ok()) << g.result.error().message;
  EXPECT_EQ(g.status, 206);
  EXPECT_EQ(g.file_size, body_.size());
  EXPECT_TRUE(client.received() == body_.substr(1000, 2'000'000 - 1000));
}

TEST_F(NodeSpliceTest, AMissingFileIsNotFoundAndMovesNothing) {
  Client client;
  SpliceOut out;
  Got g;
  NodeTimeouts t;
  out.fd = client.fd();
  out.flush = [] { return true; };
  g.result = spliced_get({"n1", node_->url(), ""}, t, node_->url() + "/pool/none", 0,
                         std::nullopt, nullptr, [](const char*, size_t) { return true; }, out, "");
  ASSERT_FALSE(g.result.ok());
  EXPECT_EQ(g.result.error().code, ErrorCode::kNotFound);
  EXPECT_NE(g.result.error().message.find("node n1"), std::string::npos);
  EXPECT_NE(g.result.error().message.find("/pool/none"), std::string::npos);
  EXPECT_EQ(out.moved, 0u);
  EXPECT_EQ(client.received(), "");
}

TEST_F(NodeSpliceTest, AClientThatLeftStopsTheTransfer) {
  Client client;
  client.leave();
  SpliceOut out;
  Got g = fetch(node_->url(), client, out);
  ASSERT_FALSE(g.result.ok());
  EXPECT_TRUE(out.client_left);
}

TEST(NodeSplice, ABodyThatBreaksOffDeliversWhatArrivedThenFails) {
  const std::string part = body_of(300000);
  FakeNode fake([&](int fd) {
    write_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + part);
  });
  Client client;
  SpliceOut out;
  Got g = fetch(fake.url(), client, out);
  ASSERT_FALSE(g.result.ok());
  EXPECT_EQ(g.result.error().code, ErrorCode::kNetwork);
  EXPECT_TRUE(g.result.error().transient);
  EXPECT_NE(g.result.error().message.find("broke off"), std::string::npos);
  EXPECT_FALSE(out.client_left);
  EXPECT_EQ(g.through_sink.size() + out.moved, part.size());
  EXPECT_TRUE(client.received() == part);
  EXPECT_NE(fake.request().find("Authorization: Bearer gateway-secret\r\n"), std::string::npos);
  EXPECT_NE(fake.request().find("X-Depot-Via: gw\r\n"), std::string::npos);
  EXPECT_EQ(fake.request().find("Range:"), std::string::npos);  // a whole file: sendfile
}

TEST(NodeSplice, AStalledBodyFailsAfterTheStallTimeout) {
  std::promise<void> release;
  FakeNode fake([&](int fd) {
    write_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 500000\r\n\r\n" + body_of(100));
    release.get_future().wait_for(std::chrono::seconds(10));
  });
  Client client;
  SpliceOut out;
  const auto t0 = std::chrono::steady_clock::now();
  Got g = fetch(fake.url(), client, out, 0, std::nullopt, milliseconds(300));
  release.set_value();
  ASSERT_FALSE(g.result.ok());
  EXPECT_NE(g.result.error().message.find("stalled"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_EQ(client.received(), body_of(100));
}

TEST(NodeSplice, AWrongContentRangeIsRefusedBeforeAnyByte) {
  FakeNode fake([&](int fd) {
    write_all(fd, "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-99/1000\r\n"
                  "Content-Length: 100\r\n\r\n" + body_of(100));
  });
  Client client;
  SpliceOut out;
  Got g = fetch(fake.url(), client, out, 500);
  ASSERT_FALSE(g.result.ok());
  EXPECT_EQ(g.result.error().code, ErrorCode::kHttp);
  EXPECT_EQ(g.through_sink, "");
  EXPECT_NE(fake.request().find("Range: bytes=500-\r\n"), std::string::npos);
  EXPECT_EQ(client.received(), "");
}

// Two reads in a row from `url` deliver `body` each (a stall of 2 s fails them).
void expect_two_reads(const std::string& url, const std::string& body) {
  for (int i = 0; i < 2; ++i) {
    Client client;
    SpliceOut out;
    Got g = fetch(url, client, out, 0, std::nullopt, milliseconds(2000));
    ASSERT_TRUE(g.result.ok()) << i << ": " << g.result.error().message;
    EXPECT_TRUE(client.received() == body) << i;
  }
}

TEST(NodeSplice, AConnectionReadToItsEndServesTheNextRead) {
  const std::string body = body_of(200000);
  const std::string answer =
      "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  FakeNode fake([&](int fd) {  // one connection, two answers on it
    write_all(fd, answer);
    if (!read_request(fd).empty()) write_all(fd, answer);
  });
  expect_two_reads(fake.url(), body);
  EXPECT_EQ(fake.request().find("Connection: close"), std::string::npos);
}

TEST(NodeSplice, AnIdleConnectionTheNodeClosedIsReplacedOnce) {
  const std::string body = body_of(100000);
  const std::string answer =
      "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  // The first connection answers once and closes; the second answers the retried read.
  FakeNode fake({[&](int fd) { write_all(fd, answer); }, [&](int fd) { write_all(fd, answer); }});
  expect_two_reads(fake.url(), body);
}

TEST(NodeSplice, NoListenerIsUnreachable) {
  UniqueFd probe(::socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(probe.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(probe.get(), reinterpret_cast<sockaddr*>(&a), &len);
  const std::string url = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port));  // not listening
  Client client;
  SpliceOut out;
  Got g = fetch(url, client, out);
  ASSERT_FALSE(g.result.ok());
  EXPECT_EQ(g.result.error().code, ErrorCode::kUnreachable);
}

}  // namespace
}  // namespace depot::cluster

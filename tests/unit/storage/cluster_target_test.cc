// The cluster Target against a fake gateway: a loopback HTTP server keeping files in memory,
// one request per connection, answering PUT with the status a test sets.

#include "storage/cluster/cluster_target.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "core/digest.h"

namespace depot {
namespace {

namespace fs = std::filesystem;

class FakeGateway {
 public:
  FakeGateway() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 16);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeGateway() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }

  uint16_t port = 0;
  std::atomic<int> put_status{201};
  std::mutex mu;
  std::map<std::string, std::string> files;  // path -> bytes

 private:
  void serve() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      handle(c);
      ::close(c);
    }
  }

  static std::string header(const std::string& head, const std::string& name) {
    size_t at = head.find("\r\n" + name + ": ");
    if (at == std::string::npos) return "";
    at += name.size() + 4;
    return head.substr(at, head.find("\r\n", at) - at);
  }

  static void send_all(int c, const std::string& s) { (void)!::write(c, s.data(), s.size()); }

  static void answer(int c, int status, const std::string& body, const std::string& extra = "",
                     bool head = false) {
    send_all(c, "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n" + extra + "Connection: close\r\n\r\n" +
                    (head ? "" : body));
  }

  void handle(int c) {
    std::string in;
    char buf[65536];
    while (in.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) return;
      in.append(buf, static_cast<size_t>(n));
    }
    const size_t end = in.find("\r\n\r\n") + 4;
    const std::string head = in.substr(0, end);
    std::string body = in.substr(end);
    const std::string method = head.substr(0, head.find(' '));
    const std::string target = head.substr(method.size() + 1, head.find(' ', method.size() + 1) - method.size() - 1);
    if (target.starts_with("/_depot/v1/cluster/status")) return answer(c, 200, R"({"copies_wanted":2})");
    if (target.starts_with("/_depot/v1/cluster/list")) return list(c, target);
    const std::string path = target.substr(1);
    std::lock_guard lock(mu);
    if (method == "PUT") {
      if (put_status == 401) return answer(c, 401, "writing needs a token\n");
      if (!header(head, "Expect").empty()) send_all(c, "HTTP/1.1 100 Continue\r\n\r\n");
      const size_t want = std::stoul(header(head, "Content-Length"));
      while (body.size() < want) {
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) return;
        body.append(buf, static_cast<size_t>(n));
      }
      if (sha256_hex(body) != header(head, "X-Depot-Sha256")) return answer(c, 409, "{}");
      files[path] = body;
      const int st = put_status;
      return answer(c, st, st == 201 ? R"({"stored":["a","b"],"copies":2})"
                                     : R"({"stored":["a"],"copies":2,"failed":[{"error":"node b down"}]})");
    }
    auto it = files.find(path);
    if (method == "DELETE") {
      if (it == files.end()) return answer(c, 404, "{}");
      files.erase(it);
      return answer(c, 200, "{}");
    }
    if (it == files.end()) return answer(c, 404, "not found\n", "", method == "HEAD");
    answer(c, 200, it->second, "X-Depot-Sha256: " + sha256_hex(it->second) + "\r\n", method == "HEAD");
  }

  void list(int c, const std::string& target) {
    std::string after;
    if (size_t at = target.find("after="); at != std::string::npos) {
      after = target.substr(at + 6, target.find('&', at) - at - 6);
    }
    nlohmann::json paths = nlohmann::json::array();
    std::lock_guard lock(mu);
    for (auto it = files.upper_bound(after); it != files.end(); ++it) {
      paths.push_back({{"path", it->first}, {"size", it->second.size()},
                       {"sha256", sha256_hex(it->second)}, {"copies", 2}});
    }
    answer(c, 200, nlohmann::json{{"paths", paths}, {"more", false}}.dump());
  }

  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class ClusterTargetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cluster-target-" + std::to_string(::getpid()));
    ClusterTargetOptions o;
    auto ep = parse_cluster_url("cluster+http://127.0.0.1:" + std::to_string(gw_.port) + "/debian/");
    ASSERT_TRUE(ep.ok()) << ep.error().message;
    o.gateway = *ep;
    o.gateway.token = "w";
    o.spool_dir = dir_;
    o.parallel = 3;
    auto t = open_cluster_target(std::move(o));
    ASSERT_TRUE(t.ok()) << t.error().message;
    target_ = std::move(*t);
  }
  void TearDown() override { fs::remove_all(dir_); }

  Status commit(const std::vector<std::pair<std::string, std::string>>& contents) {
    std::vector<std::unique_ptr<WriteTxn>> txns;
    for (const auto& [path, bytes] : contents) {
      auto txn = target_->begin_write(*RelPath::parse(path));
      EXPECT_TRUE(txn.ok());
      EXPECT_TRUE((*txn)->write(std::as_bytes(std::span(bytes.data(), bytes.size()))).ok());
      EXPECT_TRUE((*txn)->close().ok());
      txns.push_back(std::move(*txn));
    }
    return target_->commit(txns);
  }

  FakeGateway gw_;
  fs::path dir_;
  std::unique_ptr<Target> target_;
};

TEST(ClusterUrl, Parses) {
  auto ep = parse_cluster_url("cluster+https://gw.example:8443/a/b/");
  ASSERT_TRUE(ep.ok());
  EXPECT_EQ(ep->base, "https://gw.example:8443");
  EXPECT_EQ(ep->prefix, "a/b");
  EXPECT_EQ(parse_cluster_url("cluster+http://h:1")->prefix, "");
  EXPECT_FALSE(parse_cluster_url("http://h:1/x").ok());
  EXPECT_FALSE(parse_cluster_url("cluster+http://h:1/a/../b").ok());
  EXPECT_FALSE(parse_cluster_url("cluster+http://u@h:1/a").ok());
  EXPECT_FALSE(parse_cluster_url("cluster+http://h:1/_depot/v1").ok());
}

TEST_F(ClusterTargetTest, RoundTrip) {
  ASSERT_TRUE(commit({{"pool/a.deb", "aaa"}, {"pool/b.deb", std::string(100000, 'b')},
                      {"dists/x/InRelease", "root"}}).ok());
  {
    std::lock_guard lock(gw_.mu);
    gw_.files["debian-other/x"] = "not ours";
    gw_.files["zzz"] = "not ours";
  }
  auto st = target_->stat(*RelPath::parse("pool/b.deb"));
  ASSERT_TRUE(st.ok() && st->has_value());
  EXPECT_EQ((*st)->size, 100000u);
  auto d = target_->stored_digests(*RelPath::parse("pool/a.deb"));
  ASSERT_TRUE(d.ok() && d->has_value());
  EXPECT_EQ((*d)->sha256, sha256_hex(std::string_view("aaa")));
  auto in = target_->open_read(*RelPath::parse("dists/x/InRelease"));
  ASSERT_TRUE(in.ok());
  EXPECT_EQ(*read_all(**in, "x"), "root");
  std::vector<std::string> listed;
  ASSERT_TRUE(target_->list([&](const RelPath& p, const FileStat&) { listed.push_back(p.str()); }).ok());
  EXPECT_EQ(listed, (std::vector<std::string>{"dists/x/InRelease", "pool/a.deb", "pool/b.deb"}));
  ASSERT_TRUE(target_->remove(*RelPath::parse("pool/a.deb")).ok());
  ASSERT_TRUE(target_->remove(*RelPath::parse("pool/a.deb")).ok());  // missing is fine
  EXPECT_FALSE(target_->stat(*RelPath::parse("pool/a.deb"))->has_value());
  auto gone = target_->open_read(*RelPath::parse("pool/a.deb"));
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);
}

TEST_F(ClusterTargetTest, TxnReadsBackBeforeCommit) {
  WriteHints h;
  h.readable = true;
  auto txn = target_->begin_write(*RelPath::parse("dists/x/Packages"), h);
  ASSERT_TRUE(txn.ok());
  std::string first = "wrong", second = "Package: a\n";
  ASSERT_TRUE((*txn)->write(std::as_bytes(std::span(first.data(), first.size()))).ok());
  ASSERT_TRUE((*txn)->reset().ok());
  ASSERT_TRUE((*txn)->write(std::as_bytes(std::span(second.data(), second.size()))).ok());
  ASSERT_TRUE((*txn)->close().ok());
  auto in = (*txn)->open_read();
  ASSERT_TRUE(in.ok());
  EXPECT_EQ(*read_all(**in, "x"), second);
  EXPECT_FALSE(target_->stat(*RelPath::parse("dists/x/Packages"))->has_value());
  std::vector<std::unique_ptr<WriteTxn>> txns;
  txns.push_back(std::move(*txn));
  ASSERT_TRUE(target_->commit(txns).ok());
  std::lock_guard lock(gw_.mu);
  EXPECT_EQ(gw_.files["debian/dists/x/Packages"], second);
}

TEST_F(ClusterTargetTest, FewerCopiesFailTransientNamingTheFile) {
  gw_.put_status = 202;
  Status s = commit({{"pool/a.deb", "aaa"}});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kIo);
  EXPECT_TRUE(s.error().transient);
  EXPECT_NE(s.error().message.find("pool/a.deb"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("only 1 of 2 copies stored"), std::string::npos)
      << s.error().message;
}

TEST_F(ClusterTargetTest, RefusedWriteNamesTheToken) {
  gw_.put_status = 401;
  Status s = commit({{"pool/a.deb", "aaa"}});
  ASSERT_FALSE(s.ok());
  EXPECT_FALSE(s.error().transient);
  EXPECT_NE(s.error().message.find("401"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("DEPOT_TOKEN"), std::string::npos) << s.error().message;
}

}  // namespace
}  // namespace depot

#include "serve/node_api.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/temp_dir.h"

namespace depot {
namespace {

namespace fs = std::filesystem;

std::string header(const NodeReply& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

class NodeApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.path() / "node";
    fs::create_directories(root_);
    NodeOptions o;
    o.root = root_;
    o.name = "n1";
    o.capacity = 1000;
    store_ = std::move(NodeStore::open(o, null_logger()).value());
    std::string text = "reader:" + sha256_hex("r") + ":read\nappender:" + sha256_hex("a") +
                       ":append\ngateway:" + sha256_hex("f") + ":full\n";
    auth_ = std::move(AuthTable::parse(text, "auth").value());
    api_ = std::make_unique<NodeApi>(*store_, "n1", &auth_, null_logger());
  }

  NodeRequest req(std::string_view method, std::string_view target, std::string_view auth) {
    NodeRequest r;
    r.method = method;
    r.target = target;
    r.authorization = auth;
    return r;
  }

  // A whole PUT: begin, body, finish.
  NodeReply put(std::string_view target, std::string_view body, std::string_view auth,
                std::string sha = {}) {
    if (sha.empty()) sha = sha256_hex(body);
    NodeRequest r = req("PUT", target, auth);
    r.sha256 = sha;
    r.content_length = body.size();
    auto start = api_->begin_put(r);
    if (!start.upload) return start.reply;
    Status st = start.upload->write(body.data(), body.size());
    if (!st.ok()) return api_->upload_failed(st.error());
    return api_->finish_put(std::move(start.upload));
  }

  testing::TempDir dir_;
  fs::path root_;
  std::unique_ptr<NodeStore> store_;
  AuthTable auth_;
  std::unique_ptr<NodeApi> api_;
};

TEST(NodeFilePath, RefusesHostilePaths) {
  for (const char* t : {"/_depot/v1/files/", "/_depot/v1/files//etc/passwd",
                        "/_depot/v1/files/a/../../x", "/_depot/v1/files/a/%2e%2e/x",
                        "/_depot/v1/files/..", "/_depot/v1/files/a%00b",
                        "/_depot/v1/files/a%2fb", "/_depot/v1/files/.depot/state.db",
                        "/_depot/v1/files/a/.depot-node/tmp/x", "/_depot/v1/files/_depot/v1/x",
                        "/_depot/v1/files/a//b", "/_depot/v1/files/dir/",
                        "/_depot/v1/files/a?b", "/_depot/v1/files/a\\b",
                        "/_depot/v1/files/a%5cb", "/_depot/v1/files/a%0ab"}) {
    auto p = node_file_path(t);
    EXPECT_FALSE(p.ok()) << t;
    if (!p.ok()) {
      EXPECT_EQ(p.error().code, ErrorCode::kUnsafePath) << t;
    }
  }
  auto ok = node_file_path("/_depot/v1/files/pool/main/a%2Bb_1.0.deb");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->str(), "pool/main/a+b_1.0.deb");
  EXPECT_TRUE(node_file_path("/_depot/v1/files/x/_depot").ok());  // only the top level
}

TEST_F(NodeApiTest, RoutesOnlyUnderDepot) {
  EXPECT_TRUE(NodeApi::handles("/_depot/v1/status"));
  EXPECT_TRUE(NodeApi::handles("/_depot/anything"));
  EXPECT_FALSE(NodeApi::handles("/_depotx"));
  EXPECT_FALSE(NodeApi::handles("/pool/_depot/v1/status"));
  EXPECT_TRUE(NodeApi::is_upload("PUT", "/_depot/v1/files/a"));
  EXPECT_FALSE(NodeApi::is_upload("PUT", "/_depot/v1/status"));
  EXPECT_FALSE(NodeApi::is_upload("GET", "/_depot/v1/files/a"));
  EXPECT_EQ(api_->handle(req("GET", "/_depot/v2/x", "Bearer f")).status, 404);
  EXPECT_EQ(api_->handle(req("POST", "/_depot/v1/status", "Bearer f")).status, 405);
  NodeReply get = api_->handle(req("GET", "/_depot/v1/files/a", "Bearer f"));
  EXPECT_EQ(get.status, 405);
  EXPECT_EQ(header(get, "Allow"), "PUT, DELETE, HEAD");
}

TEST_F(NodeApiTest, AuthTable) {
  ASSERT_EQ(put("/_depot/v1/files/old", "old", "Bearer f").status, 201);
  struct Case {
    const char* auth;
    int get, put_new, put_overwrite, del;
  } cases[] = {
      {"", 401, 401, 401, 401},
      {"Bearer wrong", 401, 401, 401, 401},
      {"Basic Zjpm", 401, 401, 401, 401},
      {"Bearer r", 200, 403, 403, 403},
      {"Bearer a", 200, 403, 403, 403},
      {"Bearer f", 200, 201, 201, 200},
  };
  int n = 0;
  for (const auto& c : cases) {
    std::string fresh = "/_depot/v1/files/new" + std::to_string(n++);
    EXPECT_EQ(api_->handle(req("GET", "/_depot/v1/inventory", c.auth)).status, c.get) << c.auth;
    EXPECT_EQ(api_->handle(req("GET", "/_depot/v1/status", c.auth)).status, c.get) << c.auth;
    EXPECT_EQ(api_->handle(req("HEAD", "/_depot/v1/files/old", c.auth)).status, c.get) << c.auth;
    EXPECT_EQ(put(fresh, "new", c.auth).status, c.put_new) << c.auth;
    EXPECT_EQ(put("/_depot/v1/files/old", "old2", c.auth).status, c.put_overwrite) << c.auth;
    EXPECT_EQ(api_->handle(req("DELETE", "/_depot/v1/files/old", c.auth)).status, c.del)
        << c.auth;
    if (c.del == 200) {
      ASSERT_EQ(put("/_depot/v1/files/old", "old", "Bearer f").status, 201);
    }
  }
  NodeReply none = api_->handle(req("GET", "/_depot/v1/status", ""));
  EXPECT_EQ(header(none, "WWW-Authenticate"), "Bearer realm=\"depot\"");
  NodeReply bad = api_->handle(req("GET", "/_depot/v1/status", "Bearer nope"));
  EXPECT_NE(header(bad, "WWW-Authenticate").find("invalid_token"), std::string::npos);
  NodeReply append = put("/_depot/v1/files/x", "x", "Bearer a");
  EXPECT_NE(append.body.find("needs a full token"), std::string::npos) << append.body;
  EXPECT_NE(append.body.find("appender has append"), std::string::npos) << append.body;
}

TEST_F(NodeApiTest, WithoutAuthFileTheApiIsReadOnly) {
  NodeApi open_api(*store_, "n1", nullptr, null_logger());
  EXPECT_EQ(open_api.handle(req("GET", "/_depot/v1/status", "")).status, 200);
  EXPECT_EQ(open_api.handle(req("GET", "/_depot/v1/inventory?since=0", "")).status, 200);
  NodeReply del = open_api.handle(req("DELETE", "/_depot/v1/files/a", "Bearer f"));
  EXPECT_EQ(del.status, 403);
  EXPECT_NE(del.body.find("without --auth-file"), std::string::npos) << del.body;
  const std::string empty_sha = sha256_hex("");
  NodeRequest r = req("PUT", "/_depot/v1/files/a", "Bearer f");
  r.sha256 = empty_sha;
  r.content_length = 0;
  auto start = open_api.begin_put(r);
  EXPECT_FALSE(start.upload);
  EXPECT_EQ(start.reply.status, 403);
}

TEST_F(NodeApiTest, PutChecksHeadersAndRoom) {
  const std::string abc = sha256_hex("abc");
  NodeRequest r = req("PUT", "/_depot/v1/files/a", "Bearer f");
  r.sha256 = abc;
  auto no_length = api_->begin_put(r);
  EXPECT_EQ(no_length.reply.status, 411);
  EXPECT_NE(no_length.reply.body.find("Content-Length"), std::string::npos);
  r.content_length = 3;
  r.sha256 = "";
  auto no_sha = api_->begin_put(r);
  EXPECT_EQ(no_sha.reply.status, 400);
  EXPECT_NE(no_sha.reply.body.find("X-Depot-Sha256"), std::string::npos);
  r.sha256 = "xyz";
  EXPECT_EQ(api_->begin_put(r).reply.status, 400);
  r.sha256 = abc;
  r.target = "/_depot/v1/files/../x";
  EXPECT_EQ(api_->begin_put(r).reply.status, 400);
  r.target = "/_depot/v1/files/big";
  r.content_length = 1001;
  NodeReply full = api_->begin_put(r).reply;
  EXPECT_EQ(full.status, 507);
  EXPECT_NE(full.body.find("n1 is full"), std::string::npos) << full.body;
}

TEST_F(NodeApiTest, PutHeadDeleteRoundTrip) {
  NodeReply created = put("/_depot/v1/files/pool/a.deb", "package", "Bearer f");
  ASSERT_EQ(created.status, 201) << created.body;
  auto j = nlohmann::json::parse(created.body);
  EXPECT_EQ(j["path"], "pool/a.deb");
  EXPECT_EQ(j["sha256"], sha256_hex("package"));
  EXPECT_EQ(j["size"], 7);
  NodeReply head = api_->handle(req("HEAD", "/_depot/v1/files/pool/a.deb", "Bearer r"));
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.content_length, 7u);
  EXPECT_EQ(header(head, "X-Depot-Sha256"), sha256_hex("package"));
  EXPECT_EQ(api_->handle(req("DELETE", "/_depot/v1/files/pool/a.deb", "Bearer f")).status, 200);
  EXPECT_EQ(api_->handle(req("HEAD", "/_depot/v1/files/pool/a.deb", "Bearer r")).status, 404);
  EXPECT_EQ(api_->handle(req("DELETE", "/_depot/v1/files/pool/a.deb", "Bearer f")).status, 404);
}

TEST_F(NodeApiTest, DigestMismatchIs409AndLeavesNothing) {
  NodeReply r = put("/_depot/v1/files/a", "body", "Bearer f", sha256_hex("other"));
  EXPECT_EQ(r.status, 409);
  EXPECT_NE(r.body.find("sha256"), std::string::npos);
  EXPECT_FALSE(fs::exists(root_ / "a"));
  ASSERT_EQ(put("/_depot/v1/files/a/b", "x", "Bearer f").status, 201);
  EXPECT_EQ(put("/_depot/v1/files/a/b/c", "y", "Bearer f").status, 409);  // a file in the way
}

TEST_F(NodeApiTest, InventoryPagesAsJson) {
  for (const char* p : {"a", "b", "c"}) ASSERT_EQ(put(std::string("/_depot/v1/files/") + p, p,
                                                      "Bearer f").status, 201);
  ASSERT_EQ(api_->handle(req("DELETE", "/_depot/v1/files/b", "Bearer f")).status, 200);
  auto page = nlohmann::json::parse(
      api_->handle(req("GET", "/_depot/v1/inventory?since=0&limit=2", "Bearer r")).body);
  EXPECT_EQ(page["node"], "n1");
  ASSERT_EQ(page["changes"].size(), 2u);
  EXPECT_EQ(page["changes"][0]["op"], "put");
  EXPECT_EQ(page["changes"][0]["path"], "a");
  EXPECT_EQ(page["changes"][0]["sha256"], sha256_hex("a"));
  EXPECT_EQ(page["changes"][0]["size"], 1);
  EXPECT_TRUE(page["more"].get<bool>());
  int64_t last = page["last"];
  auto rest = nlohmann::json::parse(
      api_->handle(req("GET", "/_depot/v1/inventory?limit=2&since=" + std::to_string(last),
                       "Bearer r"))
          .body);
  ASSERT_EQ(rest["changes"].size(), 1u);
  EXPECT_EQ(rest["changes"][0]["op"], "delete");
  EXPECT_EQ(rest["changes"][0]["path"], "b");
  EXPECT_FALSE(rest["changes"][0].contains("sha256"));
  EXPECT_FALSE(rest["more"].get<bool>());
  for (const char* bad : {"?since=-1", "?since=x", "?limit=0", "?limit=10001", "?since="}) {
    EXPECT_EQ(api_->handle(req("GET", std::string("/_depot/v1/inventory") + bad, "Bearer r"))
                  .status,
              400)
        << bad;
  }
}

TEST_F(NodeApiTest, StatusReportsRoom) {
  ASSERT_EQ(put("/_depot/v1/files/a", "12345", "Bearer f").status, 201);
  const std::string sha = sha256_hex("x");
  NodeRequest r = req("PUT", "/_depot/v1/files/b", "Bearer f");
  r.sha256 = sha;
  r.content_length = 100;
  auto held = api_->begin_put(r);
  ASSERT_TRUE(held.upload);
  NodeReply reply = api_->handle(req("GET", "/_depot/v1/status", "Bearer r"));
  EXPECT_EQ(reply.content_type, "application/json");
  auto j = nlohmann::json::parse(reply.body);
  EXPECT_EQ(j["name"], "n1");
  EXPECT_EQ(j["capacity"], 1000);
  EXPECT_EQ(j["used"], 5);
  EXPECT_EQ(j["inflight_bytes"], 100);
  EXPECT_EQ(j["files"], 1);
  EXPECT_GT(j["free"].get<uint64_t>(), 0u);
}

}  // namespace
}  // namespace depot

// S3Node without an S3 server: what a bucket that cannot be reached looks like to the gateway.
// Reads, uploads and the inventory feed against a real RADOS Gateway are exercised by
// tests/integration/test_cluster_bucket_node_breaks_reads.py.

#include "cluster/s3_node.h"

#include <gtest/gtest.h>

#include <cstring>

#include "core/digest.h"

#include "support/test_http_server.h"

namespace depot::cluster {
namespace {

S3Config unreachable_bucket() {
  S3Config c;
  c.endpoint = "http://127.0.0.1:" + std::to_string(testing::unused_port());
  c.where = S3Location{"depot-nodes", "cluster"};
  c.creds = S3Credentials{"AKIDEXAMPLE", "secret", "", "test"};
  c.retry.base_delay = std::chrono::milliseconds(1);
  return c;
}

NodeTimeouts short_timeouts() {
  NodeTimeouts t;
  t.connect = std::chrono::milliseconds(500);
  t.stall = std::chrono::milliseconds(500);
  return t;
}

TEST(S3Node, AnUnreachableBucketIsADownNodeNamingBucketAndNode) {
  S3Node node({"b3", "s3://depot-nodes/cluster?endpoint=x", ""}, unreachable_bucket(), {},
              short_timeouts());
  EXPECT_EQ(node.endpoint().name, "b3");
  EXPECT_EQ(node.file_url("a/b"), "");
  auto st = node.status();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("node b3"), std::string::npos) << st.error().message;
  EXPECT_NE(st.error().message.find("depot-nodes"), std::string::npos) << st.error().message;
  EXPECT_FALSE(node.inventory(0, 10).ok());
  EXPECT_FALSE(node.head("a/b").ok());
  EXPECT_FALSE(node.remove("a/b").ok());
  bool started = false;
  auto got = node.get("a/b", 0, std::nullopt, [&](uint64_t, long) { started = true; },
                      [](const char*, size_t) { return true; });
  ASSERT_FALSE(got.ok());
  EXPECT_FALSE(started);
}

TEST(S3Node, APutToAnUnreachableBucketTakesNoBodyByteSoAnotherNodeMay) {
  S3Node node({"b3", "s3://depot-nodes/cluster", ""}, unreachable_bucket(), {}, short_timeouts());
  size_t pulled = 0;
  auto r = node.put("pool/a.deb", 3, sha256_hex(std::string_view("abc")),
                    [&](char* buf, size_t n) -> long {
                      pulled += n;
                      std::memcpy(buf, "abc", std::min<size_t>(n, 3));
                      return static_cast<long>(std::min<size_t>(n, 3));
                    });
  EXPECT_FALSE(r.stored);
  EXPECT_EQ(r.failure.status, 0);  // replaceable: Gateway::put places the copy elsewhere
  EXPECT_EQ(pulled, 0u);
  EXPECT_NE(r.failure.message.find("node b3"), std::string::npos) << r.failure.message;
}

TEST(S3Node, ABadDigestIsRefusedBeforeAnyRequest) {
  S3Node node({"b3", "s3://depot-nodes/cluster", ""}, unreachable_bucket(), {}, short_timeouts());
  auto r = node.put("a", 1, "not-hex", [](char*, size_t) -> long { return 0; });
  EXPECT_FALSE(r.stored);
  EXPECT_EQ(r.failure.status, 400);
  EXPECT_NE(r.failure.message.find("s3://depot-nodes/cluster/a"), std::string::npos)
      << r.failure.message;
}

}  // namespace
}  // namespace depot::cluster

#include "cli/cluster_backends.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "cluster/node_client.h"

namespace depot {
namespace {

class ClusterBackends : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    ::setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
  }
  void TearDown() override {
    ::unsetenv("AWS_ACCESS_KEY_ID");
    ::unsetenv("AWS_SECRET_ACCESS_KEY");
  }
};

TEST_F(ClusterBackends, ParsesAnS3NodeUrl) {
  auto spec = parse_s3_node_url(
      "s3://depot-nodes/a/b?endpoint=http://127.0.0.1:7480&region=eu-1&capacity=2G&relist=5");
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_EQ(spec->config.endpoint, "http://127.0.0.1:7480");
  EXPECT_EQ(spec->config.region, "eu-1");
  EXPECT_EQ(spec->config.where.bucket, "depot-nodes");
  EXPECT_EQ(spec->config.where.prefix, "a/b");
  EXPECT_EQ(spec->config.creds.access_key, "AKIDEXAMPLE");
  EXPECT_EQ(spec->options.capacity, uint64_t{2} << 30);
  EXPECT_EQ(spec->options.relist_interval, std::chrono::seconds(5));
}

TEST_F(ClusterBackends, RefusesBadS3NodeUrlsNamingThem) {
  for (const char* url : {"s3://depot-nodes/a", "s3://depot-nodes/a?endpoint=http://h&colour=red",
                          "s3://depot-nodes/a?endpoint=http://h&capacity=lots",
                          "s3://depot-nodes/a?endpoint", "s3://x/a?endpoint=http://h"}) {
    auto spec = parse_s3_node_url(url);
    ASSERT_FALSE(spec.ok()) << url;
    EXPECT_NE(spec.error().message.find("node URL"), std::string::npos) << spec.error().message;
  }
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  ::setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
  EXPECT_NE(check_node_url("s3://depot-nodes/a?endpoint=http://h"), "");
  ::unsetenv("AWS_SHARED_CREDENTIALS_FILE");
}

TEST_F(ClusterBackends, TheFactoryMakesABackendPerScheme) {
  const cluster::NodeTimeouts t;
  auto http = make_node_backend({"n1", "http://127.0.0.1:1", ""}, t);
  ASSERT_NE(http, nullptr);
  EXPECT_NE(dynamic_cast<cluster::NodeClient*>(http.get()), nullptr);
  auto s3 = make_node_backend({"b3", "s3://depot-nodes/a?endpoint=http://127.0.0.1:1", ""}, t);
  ASSERT_NE(s3, nullptr);
  EXPECT_NE(dynamic_cast<cluster::S3Node*>(s3.get()), nullptr);
  EXPECT_EQ(s3->file_url("x"), "");
  EXPECT_EQ(make_node_backend({"f", "ftp://h/x", ""}, t), nullptr);
  EXPECT_EQ(check_node_url("ftp://h/x"), "the URL must start with http://, https:// or s3://");
  EXPECT_EQ(check_node_url("https://h:1"), "");
}

}  // namespace
}  // namespace depot

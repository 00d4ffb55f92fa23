#include "storage/s3/s3_url.h"

#include <gtest/gtest.h>

#include <string>

namespace depot {
namespace {

TEST(S3Url, ParsesBucketAndPrefix) {
  auto loc = parse_s3_url("s3://my-bucket/mirrors/debian");
  ASSERT_TRUE(loc.ok()) << loc.error().message;
  EXPECT_EQ(loc->bucket, "my-bucket");
  EXPECT_EQ(loc->prefix, "mirrors/debian");
  EXPECT_EQ(loc->object_key("dists/InRelease"), "mirrors/debian/dists/InRelease");
  EXPECT_EQ(loc->url("a b"), "s3://my-bucket/mirrors/debian/a b");
  EXPECT_EQ(loc->url(), "s3://my-bucket/mirrors/debian");
}

TEST(S3Url, BucketAloneAndTrailingSlash) {
  auto a = parse_s3_url("s3://bucket");
  auto b = parse_s3_url("s3://bucket/");
  auto c = parse_s3_url("s3://bucket/pre/");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->prefix, "");
  EXPECT_EQ(b->prefix, "");
  EXPECT_EQ(c->prefix, "pre");
  EXPECT_EQ(a->object_key("k"), "k");
  EXPECT_EQ(a->url("k"), "s3://bucket/k");
  EXPECT_EQ(a->url(), "s3://bucket");
}

TEST(S3Url, RefusesHostileInput) {
  for (const char* url : {"",
                          "s3:/bucket",
                          "S3://bucket",
                          "http://bucket/x",
                          "s3://",
                          "s3:///prefix",
                          "s3://ab",
                          "s3://Bucket",
                          "s3://bu_cket",
                          "s3://-bucket",
                          "s3://bucket-",
                          "s3://bu..cket",
                          "s3://bucket/a//b",
                          "s3://bucket//a",
                          "s3://bucket/../x",
                          "s3://bucket/a/./b",
                          "s3://bucket/a/..",
                          "s3://bucket/a\\b",
                          "s3://bucket/a\nb",
                          "s3://bucket/a?b",
                          "s3://bucket/a#b",
                          "s3://bucket/a\x7f",
                          "s3://bucket:80/a",
                          "s3://user@bucket/a"}) {
    auto loc = parse_s3_url(url);
    EXPECT_FALSE(loc.ok()) << url;
    if (!loc.ok()) {
      EXPECT_EQ(loc.error().code, ErrorCode::kInvalidArgument) << url;
    }
  }
  auto long_bucket = parse_s3_url("s3://" + std::string(64, 'a'));
  EXPECT_FALSE(long_bucket.ok());
  auto long_prefix = parse_s3_url("s3://bucket/" + std::string(513, 'a'));
  EXPECT_FALSE(long_prefix.ok());
  auto nul = parse_s3_url(std::string("s3://bucket/a\0b", 15));
  EXPECT_FALSE(nul.ok());
}

TEST(S3Url, ErrorNamesTheUrlEscaped) {
  auto loc = parse_s3_url("s3://bucket/a\x01/..");
  ASSERT_FALSE(loc.ok());
  EXPECT_NE(loc.error().message.find("s3://bucket/a\\x01/.."), std::string::npos)
      << loc.error().message;
}

TEST(S3Url, ChecksKeys) {
  S3Location loc{"bucket", "pre"};
  EXPECT_TRUE(check_s3_key(loc, "a/b c+d%e/ü").ok());
  for (const char* key : {"", "/a", "a/", "a//b", "../a", "a/./b", "a\\b", "a\tb"}) {
    auto st = check_s3_key(loc, key);
    EXPECT_FALSE(st.ok()) << key;
    if (!st.ok()) {
      EXPECT_EQ(st.error().code, ErrorCode::kUnsafePath);
    }
  }
  EXPECT_TRUE(check_s3_key(loc, std::string(1020, 'k')).ok());
  EXPECT_FALSE(check_s3_key(loc, std::string(1021, 'k')).ok());  // "pre/" + 1021 > 1024
}

TEST(S3Url, DecodesUrlEncodedAnswers) {
  EXPECT_EQ(s3_url_decode("a%20b%2Bc%25d").value(), "a b+c%d");
  EXPECT_EQ(s3_url_decode("a+b").value(), "a b");  // AWS writes a space as '+'
  EXPECT_EQ(s3_url_decode("%C3%bc").value(), "\xc3\xbc");
  EXPECT_EQ(s3_url_decode("").value(), "");
  for (const char* bad : {"%", "%2", "%zz", "a%g0", "%2G"}) {
    auto r = s3_url_decode(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, ErrorCode::kParse);
    }
  }
}

}  // namespace
}  // namespace depot

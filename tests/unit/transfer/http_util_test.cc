#include "transfer/http_util.h"

#include <gtest/gtest.h>

namespace depot {
namespace {

TEST(HttpUtil, HostKeyFillsDefaultPortsAndLowersCase) {
  EXPECT_EQ(host_key("http://Mirror.Example/debian/pool/a.deb"), "http://mirror.example:80");
  EXPECT_EQ(host_key("HTTPS://mirror.example/x"), "https://mirror.example:443");
  EXPECT_EQ(host_key("http://127.0.0.1:8080/x?y#z"), "http://127.0.0.1:8080");
  EXPECT_EQ(host_key("http://user:pw@h:81/x"), "http://h:81");
  EXPECT_EQ(host_key("http://[::1]:9000/x"), "http://[::1]:9000");
  EXPECT_EQ(host_key("http://[::1]/x"), "http://[::1]:80");
}

TEST(HttpUtil, HostKeyRejectsWhatItCannotParse) {
  EXPECT_EQ(host_key("mirror.example/x"), "");
  EXPECT_EQ(host_key("http://[::1/x"), "");
}

TEST(HttpUtil, HeaderNameAndValue) {
  EXPECT_TRUE(header_is("ETag: \"a\"\r\n", "etag"));
  EXPECT_FALSE(header_is("ETagX: 1\r\n", "etag"));
  EXPECT_FALSE(header_is("ETag", "etag"));
  EXPECT_EQ(header_value("Retry-After: \t120 \r\n", 11), "120");
  EXPECT_EQ(header_value("ETag:\r\n", 4), "");
}

TEST(HttpUtil, AwsUriEncodeKeepsUnreservedBytesOnly) {
  EXPECT_EQ(aws_uri_encode("a-b_c.d~e/f", true), "a-b_c.d~e/f");
  EXPECT_EQ(aws_uri_encode("a/b", false), "a%2Fb");
  EXPECT_EQ(aws_uri_encode("a b+c%d*e=f&g", true), "a%20b%2Bc%25d%2Ae%3Df%26g");
  EXPECT_EQ(aws_uri_encode("\xc3\xbc", true), "%C3%BC");
  EXPECT_EQ(aws_uri_encode(std::string("\0", 1), true), "%00");
  EXPECT_EQ(aws_uri_encode("", false), "");
}

TEST(HttpUtil, SigV4CanonicalUrlReencodesThePathOnly) {
  EXPECT_EQ(sigv4_canonical_url("http://h:1/b/pool/libstdc++6_1.0+dfsg_amd64.deb"),
            "http://h:1/b/pool/libstdc%2B%2B6_1.0%2Bdfsg_amd64.deb");
  EXPECT_EQ(sigv4_canonical_url("http://h/b/a%20b%7e/c?x=1+2"), "http://h/b/a%20b~/c?x=1+2");
  EXPECT_EQ(sigv4_canonical_url("http://h/b/a%2Fb:c"),
            "http://h/b/a%2Fb%3Ac");  // %2F stays one segment
  EXPECT_EQ(sigv4_canonical_url("http://h/b/%zz"), "http://h/b/%25zz");
  EXPECT_EQ(sigv4_canonical_url("http://h"), "http://h");
  EXPECT_EQ(sigv4_canonical_url("http://h/"), "http://h/");
  EXPECT_EQ(sigv4_canonical_url("http://h/a%2"), "http://h/a%252");          // escape cut short
  EXPECT_EQ(sigv4_canonical_url("http://h/a%2/b%41"), "http://h/a%252/bA");  // not across a '/'
  EXPECT_EQ(sigv4_canonical_url("http://h//a%c3%BC"), "http://h//a%C3%BC");
}

TEST(HttpUtil, RedactCredentialsHidesUserInformationOfEveryUrl) {
  EXPECT_EQ(redact_credentials("https://bearer:TOKEN@esm.ubuntu.com/apps/ubuntu/dists/x: HTTP 401"),
            "https://***@esm.ubuntu.com/apps/ubuntu/dists/x: HTTP 401");
  EXPECT_EQ(redact_credentials("a http://u@h:80 and http://h/p?x=a@b then s3://k:s@b/key"),
            "a http://***@h:80 and http://h/p?x=a@b then s3://***@b/key");
  EXPECT_EQ(redact_credentials("no url here"), "no url here");
  EXPECT_EQ(redact_credentials("http://plain.example/"), "http://plain.example/");
  EXPECT_EQ(redact_credentials("broken://"), "broken://");
}

}  // namespace
}  // namespace depot

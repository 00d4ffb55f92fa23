#include "storage/s3/s3_error.h"

#include <gtest/gtest.h>

namespace depot {
namespace {

constexpr const char* kWhat = "s3://bucket/pre/key";

std::string body(const std::string& code) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>" + code +
         "</Code><Message></Message><BucketName>bucket</BucketName></Error>";
}

struct Case {
  const char* code;
  long status;
  ErrorCode error;
  bool transient;
  const char* words;
};

TEST(S3Error, EachCauseInWords) {
  for (const Case& c : {
           Case{"InvalidAccessKeyId", 403, ErrorCode::kIo, false, "bad credentials"},
           Case{"SignatureDoesNotMatch", 403, ErrorCode::kIo, false, "wrong secret key"},
           Case{"AccessDenied", 403, ErrorCode::kIo, false, "read-only"},
           Case{"NoSuchBucket", 404, ErrorCode::kIo, false, "the bucket does not exist"},
           Case{"NoSuchKey", 404, ErrorCode::kNotFound, false, "no such object"},
           Case{"AuthorizationHeaderMalformed", 400, ErrorCode::kIo, false, "wrong region"},
           Case{"PermanentRedirect", 301, ErrorCode::kIo, false, "wrong region"},
           Case{"RequestTimeTooSkewed", 403, ErrorCode::kIo, false, "clock skew"},
           Case{"QuotaExceeded", 403, ErrorCode::kIo, false, "storage full"},
           Case{"XAmzContentSHA256Mismatch", 400, ErrorCode::kDigestMismatch, false,
                "digest mismatch"},
           Case{"BadDigest", 400, ErrorCode::kDigestMismatch, false, "digest mismatch"},
           Case{"EntityTooSmall", 400, ErrorCode::kInvalidArgument, false, "minimum part size"},
           Case{"SlowDown", 503, ErrorCode::kHttp, true, "slow down"},
           Case{"InternalError", 500, ErrorCode::kHttp, true, "internally"},
           Case{"RequestTimeout", 400, ErrorCode::kNetwork, true, "timed out"},
       }) {
    Error e = s3_status_error("PUT", kWhat, c.status, body(c.code));
    EXPECT_EQ(e.code, c.error) << c.code;
    EXPECT_EQ(e.transient, c.transient) << c.code;
    EXPECT_TRUE(e.message.starts_with("s3://bucket/pre/key: PUT failed: ")) << e.message;
    EXPECT_NE(e.message.find(c.words), std::string::npos) << e.message;
    EXPECT_NE(e.message.find(std::string(c.code) + ", HTTP " + std::to_string(c.status)),
              std::string::npos)
        << e.message;
  }
}

TEST(S3Error, StatusAloneWithoutBody) {
  Error forbidden = s3_status_error("HEAD", kWhat, 403, "");
  EXPECT_EQ(forbidden.code, ErrorCode::kIo);
  EXPECT_NE(forbidden.message.find("bad credentials, clock skew or no access"), std::string::npos);
  EXPECT_EQ(s3_status_error("HEAD", kWhat, 404, "").code, ErrorCode::kNotFound);
  Error full = s3_status_error("PUT", kWhat, 507, "");
  EXPECT_NE(full.message.find("storage full"), std::string::npos);
  Error bad_gateway = s3_status_error("GET", kWhat, 502, "<html>bad gateway</html>");
  EXPECT_EQ(bad_gateway.code, ErrorCode::kHttp);
  EXPECT_TRUE(bad_gateway.transient);
  EXPECT_NE(bad_gateway.message.find("HTTP 502"), std::string::npos);
  EXPECT_FALSE(s3_status_error("GET", kWhat, 416, "").transient);
  EXPECT_TRUE(s3_status_error("GET", kWhat, 429, "").transient);
}

TEST(S3Error, AccessDeniedSaysWriteForWrites) {
  for (const char* op : {"PUT", "UploadPart 3", "CompleteMultipartUpload", "DELETE"}) {
    Error e = s3_status_error(op, kWhat, 403, body("AccessDenied"));
    EXPECT_NE(e.message.find("may not write to this bucket (a read-only user"), std::string::npos)
        << e.message;
  }
  Error read = s3_status_error("GET", kWhat, 403, body("AccessDenied"));
  EXPECT_NE(read.message.find("may not read this"), std::string::npos) << read.message;
}

TEST(S3Error, ClockSkewSaysByHowMuch) {
  Error behind = s3_status_error("GET", kWhat, 403, body("RequestTimeTooSkewed"),
                                 std::chrono::seconds(3600 + 120));
  EXPECT_NE(behind.message.find("clock skew: this machine's clock differs too much from the "
                                "server's (this machine's clock is 1h02m behind the server's)"),
            std::string::npos)
      << behind.message;
  Error ahead = s3_status_error("GET", kWhat, 403, body("RequestTimeTooSkewed"),
                                std::chrono::seconds(-1200));
  EXPECT_NE(ahead.message.find("is 20m00s ahead of the server's"), std::string::npos)
      << ahead.message;
  // A HEAD answer has no body: a large skew names the clock, a small one does not.
  Error head = s3_status_error("HEAD", kWhat, 403, "", std::chrono::seconds(-7200));
  EXPECT_NE(head.message.find("HEAD failed: forbidden, most likely clock skew: this machine's "
                              "clock is 2h00m ahead of the server's"),
            std::string::npos)
      << head.message;
  Error near = s3_status_error("HEAD", kWhat, 403, "", std::chrono::seconds(2));
  EXPECT_NE(near.message.find("bad credentials, clock skew or no access"), std::string::npos)
      << near.message;
  EXPECT_EQ(near.message.find("this machine's clock"), std::string::npos) << near.message;
}

TEST(S3Error, RegionAndMessageFromTheServerAreShownSafely) {
  Error e = s3_status_error(
      "GET", kWhat, 400,
      "<Error><Code>AuthorizationHeaderMalformed</Code><Message>expecting 'eu-west-1'\n"
      "</Message><Region>eu-west-1</Region></Error>");
  EXPECT_NE(e.message.find("(the server names region eu-west-1)"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("\\x0a"), std::string::npos) << e.message;
  Error odd = s3_status_error("GET", kWhat, 400, "<Error><Code>a b\n</Code></Error>");
  EXPECT_NE(odd.message.find("\"a b\\x0a\""), std::string::npos) << odd.message;
}

}  // namespace
}  // namespace depot

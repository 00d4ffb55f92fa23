#include "storage/s3/s3_http.h"

#include <gtest/gtest.h>

namespace depot {
namespace {

int64_t unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

TEST(S3Http, ParseHttpTime) {
  auto t = parse_http_time("Fri, 04 Dec 2026 04:42:23 GMT");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(unix_seconds(*t), 1796359343);
  EXPECT_FALSE(parse_http_time("").has_value());
  EXPECT_FALSE(parse_http_time("not a date").has_value());
  // A hostile server's far future must not overflow the clock.
  EXPECT_FALSE(parse_http_time("Fri, 31 Dec 9999 23:59:59 GMT").has_value());
}

}  // namespace
}  // namespace depot

#include "transfer/retry_policy.h"

#include <gtest/gtest.h>

#include <chrono>

namespace depot {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

Error transient_error() { return make_error(ErrorCode::kNetwork, "http://h/f: reset", true); }

TEST(ClassifyHttpStatus, SuccessAndNotModifiedAreNotErrors) {
  EXPECT_FALSE(classify_http_status(200, "http://h/f"));
  EXPECT_FALSE(classify_http_status(206, "http://h/f"));
  EXPECT_FALSE(classify_http_status(304, "http://h/f"));
}

TEST(ClassifyHttpStatus, NotFoundIsPermanent) {
  for (long status : {404L, 410L}) {
    auto e = classify_http_status(status, "http://h/f.conda");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code, ErrorCode::kNotFound);
    EXPECT_FALSE(e->transient);
    EXPECT_EQ(e->message, "http://h/f.conda: HTTP " + std::to_string(status));
  }
}

TEST(ClassifyHttpStatus, ServerErrorsAndThrottlingAreTransient) {
  for (long status : {500L, 502L, 503L, 504L, 408L, 425L, 429L}) {
    auto e = classify_http_status(status, "http://h/f");
    ASSERT_TRUE(e) << status;
    EXPECT_EQ(e->code, ErrorCode::kHttp) << status;
    EXPECT_TRUE(e->transient) << status;
  }
}

TEST(ClassifyHttpStatus, OtherClientErrorsArePermanent) {
  for (long status : {400L, 401L, 403L, 405L, 416L, 301L}) {
    auto e = classify_http_status(status, "http://h/f");
    ASSERT_TRUE(e) << status;
    EXPECT_EQ(e->code, ErrorCode::kHttp);
    EXPECT_FALSE(e->transient) << status;
  }
}

TEST(RetryPolicy, PermanentErrorIsNotRetried) {
  FakeClock clock;
  RetryPolicy p;
  Error e = make_error(ErrorCode::kNotFound, "http://h/f: HTTP 404");
  EXPECT_FALSE(p.next_delay(1, e, std::nullopt, clock));
}

TEST(RetryPolicy, BackoffDoublesWithFullJitterAndIsCapped) {
  FakeClock clock;
  RetryPolicy p;
  p.max_attempts = 20;
  p.base_delay = milliseconds(100);
  p.max_delay = milliseconds(1000);
  clock.set_random(0.5);
  EXPECT_EQ(p.next_delay(1, transient_error(), std::nullopt, clock), milliseconds(50));
  EXPECT_EQ(p.next_delay(2, transient_error(), std::nullopt, clock), milliseconds(100));
  EXPECT_EQ(p.next_delay(3, transient_error(), std::nullopt, clock), milliseconds(200));
  EXPECT_EQ(p.next_delay(4, transient_error(), std::nullopt, clock), milliseconds(400));
  EXPECT_EQ(p.next_delay(5, transient_error(), std::nullopt, clock), milliseconds(500));  // cap
  EXPECT_EQ(p.next_delay(19, transient_error(), std::nullopt, clock), milliseconds(500));
  // Full jitter spans [0, ceiling).
  clock.set_random(0.0);
  EXPECT_EQ(p.next_delay(3, transient_error(), std::nullopt, clock), milliseconds(0));
  clock.set_random(0.999);
  EXPECT_EQ(p.next_delay(3, transient_error(), std::nullopt, clock), milliseconds(399));
}

TEST(RetryPolicy, AttemptsExhausted) {
  FakeClock clock;
  RetryPolicy p;
  p.max_attempts = 3;
  EXPECT_TRUE(p.next_delay(1, transient_error(), std::nullopt, clock));
  EXPECT_TRUE(p.next_delay(2, transient_error(), std::nullopt, clock));
  EXPECT_FALSE(p.next_delay(3, transient_error(), std::nullopt, clock));
  p.max_attempts = 1;
  EXPECT_FALSE(p.next_delay(1, transient_error(), std::nullopt, clock));
}

TEST(RetryPolicy, RetryAfterIsALowerBound) {
  FakeClock clock;
  clock.set_random(0.5);
  RetryPolicy p;
  p.base_delay = milliseconds(100);
  EXPECT_EQ(p.next_delay(1, transient_error(), milliseconds(2000), clock), milliseconds(2000));
  // A shorter Retry-After does not shorten the backoff.
  EXPECT_EQ(p.next_delay(3, transient_error(), milliseconds(10), clock), milliseconds(200));
}

TEST(RetryPolicy, RetryAfterBeyondLimitGivesUp) {
  FakeClock clock;
  RetryPolicy p;
  p.max_retry_after = seconds(60);
  EXPECT_TRUE(p.next_delay(1, transient_error(), seconds(60), clock));
  EXPECT_FALSE(p.next_delay(1, transient_error(), seconds(61), clock));
}

TEST(ParseRetryAfter, DeltaSeconds) {
  auto now = std::chrono::system_clock::now();
  EXPECT_EQ(parse_retry_after("120", now), milliseconds(120000));
  EXPECT_EQ(parse_retry_after(" 0 ", now), milliseconds(0));
  EXPECT_EQ(parse_retry_after("1\r\n", now), milliseconds(1000));
  // Absurd values saturate instead of overflowing.
  auto huge = parse_retry_after("99999999999999999999999", now);
  ASSERT_TRUE(huge);
  EXPECT_GT(*huge, milliseconds(seconds(86400)));
}

TEST(ParseRetryAfter, HttpDate) {
  // Sun, 06 Nov 1994 08:49:37 GMT == 784111777.
  auto at = std::chrono::system_clock::from_time_t(784111777);
  auto now = at - seconds(90);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now), milliseconds(90000));
  EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now), milliseconds(90000));
  EXPECT_EQ(parse_retry_after("Sun Nov  6 08:49:37 1994", now), milliseconds(90000));
  // A date in the past means "now".
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", at + seconds(5)), milliseconds(0));
  // Found by fuzz/http_headers_fuzz: a date in year 9914 overflowed system_clock (UBSan:
  // signed integer overflow); far-future dates are capped like huge delta-seconds.
  auto far = parse_retry_after("Sun, 06 Nov 9914 08:49:37 GMT", at);
  ASSERT_TRUE(far);
  EXPECT_EQ(*far, milliseconds(seconds(999999999)));
}

TEST(ParseRetryAfter, Malformed) {
  auto now = std::chrono::system_clock::now();
  EXPECT_FALSE(parse_retry_after("", now));
  EXPECT_FALSE(parse_retry_after("   ", now));
  // Found by fuzz/http_headers_fuzz: only line-end bytes made an empty number (std::stoll threw).
  EXPECT_FALSE(parse_retry_after("\r", now));
  EXPECT_FALSE(parse_retry_after(" \r\n", now));
  EXPECT_FALSE(parse_retry_after("soon", now));
  EXPECT_FALSE(parse_retry_after("-5", now));
  EXPECT_FALSE(parse_retry_after("1.5", now));
  EXPECT_FALSE(parse_retry_after("Blursday, 99 Foo 2024 99:99:99 GMT", now));
}

}  // namespace
}  // namespace depot

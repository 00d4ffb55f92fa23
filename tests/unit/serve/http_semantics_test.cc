#include "serve/http_semantics.h"

#include <gtest/gtest.h>

#include <string>

namespace depot {
namespace {

constexpr std::time_t k1994 = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT

TEST(HttpSemanticsContentType, ByFileName) {
  struct Case {
    const char* name;
    const char* type;
  } cases[] = {
      {"jq_1.6-2_amd64.deb", "application/vnd.debian.binary-package"},
      {"pool/main/d/d-i/foo_1_amd64.udeb", "application/vnd.debian.binary-package"},
      {"dists/bookworm/InRelease", "text/plain; charset=utf-8"},
      {"Release", "text/plain; charset=utf-8"},
      {"Release.gpg", "application/pgp-signature"},
      {"Packages", "text/plain; charset=utf-8"},
      {"Packages.gz", "application/gzip"},
      {"Packages.xz", "application/x-xz"},
      {"Sources", "text/plain; charset=utf-8"},
      {"Contents-amd64", "text/plain; charset=utf-8"},
      {"Contents-amd64.gz", "application/gzip"},
      {"Translation-en", "text/plain; charset=utf-8"},
      {"Translation-en.bz2", "application/x-bzip2"},
      {"Packages.diff/Index", "text/plain; charset=utf-8"},
      {"jq_1.6-2.dsc", "text/plain; charset=utf-8"},
      {"jq_1.6.orig.tar.gz", "application/gzip"},
      {"pkg-1.0-py3-none-any.whl", "application/zip"},
      {"pkg-1.0-py3-none-any.whl.metadata", "text/plain; charset=utf-8"},
      {"bash-5.1-1.el9.x86_64.rpm", "application/x-rpm"},
      {"repodata.json", "application/json"},
      {"repodata.json.zst", "application/zstd"},
      {"repodata.json.bz2", "application/x-bzip2"},
      {"index.html", "text/html; charset=utf-8"},
      {"repomd.xml", "application/xml"},
      {"repomd.xml.asc", "application/pgp-signature"},
      {"repomd.xml.key", "application/pgp-keys"},
      {"archive-keyring.gpg", "application/pgp-signature"},
      {"numpy-1.0-0.conda", "application/octet-stream"},
      {"numpy-1.0-0.tar.bz2", "application/x-bzip2"},
      {"left-pad-1.3.0.tgz", "application/gzip"},
      {"serde-1.0.0.crate", "application/gzip"},
      {"FILE.DEB", "application/vnd.debian.binary-package"},
      {"unknown.bin", "application/octet-stream"},
      {"noextension", "application/octet-stream"},
      {".gz", "application/octet-stream"},
      {"", "application/octet-stream"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(content_type_for(c.name), c.type) << c.name;
  }
}

TEST(HttpSemanticsEtag, NginxStyle) {
  EXPECT_EQ(make_etag(0x1234, 0x5f5e100), "\"5f5e100-1234\"");
  EXPECT_EQ(make_etag(0, 0), "\"0-0\"");
  EXPECT_NE(make_etag(1, 2), make_etag(2, 1));
}

TEST(HttpSemanticsEtag, FileEtagChangesWithInodeAndNanoseconds) {
  struct stat a {};
  a.st_ino = 0x10;
  a.st_mtim.tv_sec = 0x5f5e100;
  a.st_mtim.tv_nsec = 0x20;
  a.st_size = 0x1234;
  EXPECT_EQ(make_file_etag(a), "\"10-5f5e100.20-1234\"");
  struct stat b = a;
  b.st_mtim.tv_nsec = 0x21;  // rewritten in the same second, same size
  EXPECT_NE(make_file_etag(a), make_file_etag(b));
  b = a;
  b.st_ino = 0x11;  // replaced by rename
  EXPECT_NE(make_file_etag(a), make_file_etag(b));
}

TEST(HttpSemanticsDate, FormatsImfFixdate) {
  EXPECT_EQ(format_http_date(k1994), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(format_http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(format_http_date(951782400), "Tue, 29 Feb 2000 00:00:00 GMT");
  EXPECT_EQ(format_http_date(4102444799), "Thu, 31 Dec 2099 23:59:59 GMT");
}

TEST(HttpSemanticsDate, ParsesAllThreeForms) {
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), k1994);
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), k1994);
  EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), k1994);
  EXPECT_EQ(parse_http_date("Thu Nov 16 08:49:37 1995"), k1994 + 375 * 86400);
  EXPECT_EQ(parse_http_date("Tuesday, 29-Feb-00 00:00:00 GMT"), 951782400);
  EXPECT_EQ(parse_http_date("  Sun, 06 Nov 1994 08:49:37 GMT "), k1994);
}

TEST(HttpSemanticsDate, RoundTrips) {
  for (std::time_t t : {std::time_t{0}, k1994, std::time_t{951782400}, std::time_t{1700000000},
                        std::time_t{1798000001}, std::time_t{4102444799}}) {
    auto parsed = parse_http_date(format_http_date(t));
    ASSERT_TRUE(parsed) << t;
    EXPECT_EQ(*parsed, t);
  }
  for (std::time_t t = 0; t < 4102444800; t += 7777777) {
    ASSERT_EQ(parse_http_date(format_http_date(t)), t);
  }
}

TEST(HttpSemanticsDate, RefusesMalformed) {
  for (const char* s :
       {"", "yesterday", "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 32 Nov 1994 08:49:37 GMT", "Sun, 31 Nov 1994 08:49:37 GMT",
        "Sun, 29 Feb 1900 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Nov 1994 08:60:00 GMT", "Sun, 06 Nov 94 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMTx", "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Sun Nov 6 08:49:37 1994", "1994-11-06T08:49:37Z", "784111777"}) {
    EXPECT_FALSE(parse_http_date(s)) << s;
  }
}

class HttpSemanticsPreconditions : public ::testing::Test {
 protected:
  Precondition eval(ConditionalHeaders h, bool get = true) {
    return evaluate_preconditions(h, v_, get);
  }
  const std::string etag_ = "\"5f5e100-1234\"";
  Validators v_{etag_, k1994};
  const std::string before_ = format_http_date(k1994 - 1);
  const std::string same_ = format_http_date(k1994);
  const std::string after_ = format_http_date(k1994 + 1);
};

TEST_F(HttpSemanticsPreconditions, NoHeadersProceed) {
  EXPECT_EQ(eval({}), Precondition::kProceed);
  EXPECT_EQ(eval({}, false), Precondition::kProceed);
}

TEST_F(HttpSemanticsPreconditions, IfMatch) {
  EXPECT_EQ(eval({.if_match = etag_}), Precondition::kProceed);
  EXPECT_EQ(eval({.if_match = "*"}), Precondition::kProceed);
  EXPECT_EQ(eval({.if_match = "\"x\", \"5f5e100-1234\""}), Precondition::kProceed);
  EXPECT_EQ(eval({.if_match = "\"x\""}), Precondition::kFailed);
  EXPECT_EQ(eval({.if_match = "W/\"5f5e100-1234\""}), Precondition::kFailed);  // weak never
  EXPECT_EQ(eval({.if_match = "garbage"}), Precondition::kFailed);
  // If-Match takes precedence over If-Unmodified-Since.
  EXPECT_EQ(eval({.if_match = etag_, .if_unmodified_since = before_}), Precondition::kProceed);
  EXPECT_EQ(eval({.if_match = "\"x\"", .if_unmodified_since = after_}), Precondition::kFailed);
  // 412 on If-Match mismatch even when If-None-Match would give 304.
  EXPECT_EQ(eval({.if_match = "\"x\"", .if_none_match = etag_}), Precondition::kFailed);
}

TEST_F(HttpSemanticsPreconditions, IfUnmodifiedSince) {
  EXPECT_EQ(eval({.if_unmodified_since = same_}), Precondition::kProceed);
  EXPECT_EQ(eval({.if_unmodified_since = after_}), Precondition::kProceed);
  EXPECT_EQ(eval({.if_unmodified_since = before_}), Precondition::kFailed);
  EXPECT_EQ(eval({.if_unmodified_since = "not a date"}), Precondition::kProceed);
}

TEST_F(HttpSemanticsPreconditions, IfNoneMatch) {
  EXPECT_EQ(eval({.if_none_match = etag_}), Precondition::kNotModified);
  EXPECT_EQ(eval({.if_none_match = "W/\"5f5e100-1234\""}), Precondition::kNotModified);
  EXPECT_EQ(eval({.if_none_match = "\"a\",W/\"5f5e100-1234\" , \"b\""}),
            Precondition::kNotModified);
  EXPECT_EQ(eval({.if_none_match = "*"}), Precondition::kNotModified);
  EXPECT_EQ(eval({.if_none_match = "\"other\""}), Precondition::kProceed);
  EXPECT_EQ(eval({.if_none_match = "5f5e100-1234"}), Precondition::kProceed);  // unquoted
  // Not GET/HEAD: a match fails the request instead.
  EXPECT_EQ(eval({.if_none_match = etag_}, false), Precondition::kFailed);
  EXPECT_EQ(eval({.if_none_match = "\"other\""}, false), Precondition::kProceed);
}

TEST_F(HttpSemanticsPreconditions, IfNoneMatchWinsOverIfModifiedSince) {
  // A mismatching ETag means "changed" even though the date says "not modified".
  EXPECT_EQ(eval({.if_none_match = "\"other\"", .if_modified_since = after_}),
            Precondition::kProceed);
  EXPECT_EQ(eval({.if_none_match = etag_, .if_modified_since = before_}),
            Precondition::kNotModified);
}

TEST_F(HttpSemanticsPreconditions, IfModifiedSince) {
  EXPECT_EQ(eval({.if_modified_since = same_}), Precondition::kNotModified);
  EXPECT_EQ(eval({.if_modified_since = after_}), Precondition::kNotModified);
  EXPECT_EQ(eval({.if_modified_since = before_}), Precondition::kProceed);
  EXPECT_EQ(eval({.if_modified_since = "Sunday, 06-Nov-94 08:49:37 GMT"}),
            Precondition::kNotModified);
  EXPECT_EQ(eval({.if_modified_since = "garbage"}), Precondition::kProceed);
  EXPECT_EQ(eval({.if_modified_since = same_}, false), Precondition::kProceed);  // only GET/HEAD
}

TEST_F(HttpSemanticsPreconditions, DatesAreIgnoredWithoutALastModified) {
  v_.last_modified = 0;  // a file changed in the current second
  EXPECT_EQ(eval({.if_modified_since = after_}), Precondition::kProceed);
  EXPECT_EQ(eval({.if_unmodified_since = before_}), Precondition::kProceed);
  EXPECT_EQ(eval({.if_none_match = etag_, .if_modified_since = after_}),
            Precondition::kNotModified);
}

class HttpSemanticsRange : public ::testing::Test {
 protected:
  RangeDecision eval(std::string_view range, std::string_view if_range = {}, uint64_t size = 1000) {
    return evaluate_range(range, if_range, size, v_);
  }
  void expect_range(std::string_view range, uint64_t first, uint64_t last, uint64_t size = 1000) {
    auto d = eval(range, {}, size);
    ASSERT_EQ(d.kind, RangeKind::kSatisfiable) << range;
    EXPECT_EQ(d.range.first, first) << range;
    EXPECT_EQ(d.range.last, last) << range;
  }
  const std::string etag_ = "\"5f5e100-3e8\"";
  Validators v_{etag_, k1994};
};

TEST_F(HttpSemanticsRange, SatisfiableForms) {
  expect_range("bytes=0-0", 0, 0);
  expect_range("bytes=0-499", 0, 499);
  expect_range("bytes=500-999", 500, 999);
  expect_range("bytes=500-", 500, 999);
  expect_range("bytes=999-", 999, 999);
  expect_range("bytes=-1", 999, 999);
  expect_range("bytes=-500", 500, 999);
  expect_range("BYTES=1-2", 1, 2);
  expect_range("bytes= 1-2 ", 1, 2);
  expect_range("bytes=1-2,", 1, 2);  // empty list elements are ignored
  EXPECT_EQ(eval("bytes=10-19").range.length(), 10u);
}

TEST_F(HttpSemanticsRange, ClipsToSize) {
  expect_range("bytes=500-5000", 500, 999);
  expect_range("bytes=0-99999999999999999999999", 0, 999);
  expect_range("bytes=-5000", 0, 999);
  expect_range("bytes=-99999999999999999999999", 0, 999);
  expect_range("bytes=0-", 0, 0, 1);
}

TEST_F(HttpSemanticsRange, Unsatisfiable) {
  for (const char* r : {"bytes=1000-", "bytes=1000-2000", "bytes=5000-6000", "bytes=-0",
                        "bytes=99999999999999999999999-"}) {
    EXPECT_EQ(eval(r).kind, RangeKind::kUnsatisfiable) << r;
  }
  EXPECT_EQ(eval("bytes=0-", {}, 0).kind, RangeKind::kUnsatisfiable);
  EXPECT_EQ(eval("bytes=-5", {}, 0).kind, RangeKind::kUnsatisfiable);
}

TEST_F(HttpSemanticsRange, IgnoredForms) {
  for (const char* r : {"", "bytes", "bytes=", "bytes=-", "bytes=a-b", "bytes=1-a", "bytes=5-1",
                        "bytes=1", "bytes=0-1,5-6", "bytes=0-1, 1000-", "bytes=-1,-2", "items=0-1",
                        "bytes=+1-2", "bytes=1--2", "bytes=0x10-20"}) {
    EXPECT_EQ(eval(r).kind, RangeKind::kNone) << r;
  }
}

TEST_F(HttpSemanticsRange, IfRange) {
  auto match = eval("bytes=0-9", etag_);
  EXPECT_EQ(match.kind, RangeKind::kSatisfiable);
  EXPECT_EQ(match.range.last, 9u);
  EXPECT_EQ(eval("bytes=0-9", "\"other\"").kind, RangeKind::kNone);
  EXPECT_EQ(eval("bytes=0-9", "W/\"5f5e100-3e8\"").kind, RangeKind::kNone);
  // A date is never trusted as a validator here, even when equal to Last-Modified.
  EXPECT_EQ(eval("bytes=0-9", format_http_date(k1994)).kind, RangeKind::kNone);
  EXPECT_EQ(eval("bytes=0-9", "garbage").kind, RangeKind::kNone);
  // A mismatching If-Range turns even an unsatisfiable range into a plain 200.
  EXPECT_EQ(eval("bytes=5000-", "\"other\"").kind, RangeKind::kNone);
  EXPECT_EQ(eval("bytes=5000-", etag_).kind, RangeKind::kUnsatisfiable);
}

TEST(HttpSemanticsContentRange, Formats) {
  EXPECT_EQ(content_range({0, 9}, 1000), "bytes 0-9/1000");
  EXPECT_EQ(content_range({500, 999}, 1000), "bytes 500-999/1000");
}

TEST(HttpSemanticsContentRange, ParsesWhatItFormatsAndRefusesTheRest) {
  uint64_t size = 0;
  auto r = parse_content_range("bytes 500-999/1000", size);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->first, 500u);
  EXPECT_EQ(r->last, 999u);
  EXPECT_EQ(size, 1000u);
  for (const char* bad : {"bytes 5-4/10", "bytes 0-10/10", "bytes */10", "items 0-1/2",
                          "bytes 0-1", "bytes -1/2", "bytes 0-1/x", ""}) {
    EXPECT_FALSE(parse_content_range(bad, size).has_value()) << bad;
  }
}

RequestFraming framing(std::string_view te, bool cl = false, size_t hosts = 1,
                       unsigned version = 11) {
  RequestFraming f;
  f.version = version;
  f.host_fields = hosts;
  f.has_transfer_encoding = !te.empty();
  f.transfer_encoding = te;
  f.has_content_length = cl;
  return f;
}

TEST(HttpSemanticsFraming, TransferEncodingMustEndInChunked) {
  EXPECT_FALSE(framing_error(framing("")).has_value());
  EXPECT_FALSE(framing_error(framing("chunked")).has_value());
  EXPECT_FALSE(framing_error(framing("gzip, Chunked")).has_value());
  EXPECT_FALSE(framing_error(framing("gzip,chunked ; x=1")).has_value());
  EXPECT_TRUE(framing_error(framing("gzip")).has_value());
  EXPECT_TRUE(framing_error(framing("chunked, gzip")).has_value());
  EXPECT_TRUE(framing_error(framing("chunkedx")).has_value());
  EXPECT_TRUE(framing_error(framing(" ")).has_value());  // present but empty
}

TEST(HttpSemanticsFraming, TransferEncodingWithContentLengthIsRefused) {
  EXPECT_TRUE(framing_error(framing("chunked", /*cl=*/true)).has_value());
  EXPECT_FALSE(framing_error(framing("", /*cl=*/true)).has_value());
}

TEST(HttpSemanticsFraming, ExactlyOneHostInHttp11) {
  EXPECT_TRUE(framing_error(framing("", false, 0)).has_value());
  EXPECT_TRUE(framing_error(framing("", false, 2)).has_value());
  EXPECT_FALSE(framing_error(framing("", false, 0, 10)).has_value());  // HTTP/1.0 may omit it
  EXPECT_TRUE(framing_error(framing("", false, 2, 10)).has_value());
}

}  // namespace
}  // namespace depot

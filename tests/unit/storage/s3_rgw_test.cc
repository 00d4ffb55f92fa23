// S3Client against a real S3 server (Ceph RADOS Gateway in tests/integration/
// test_s3_client_misreports_rgw.py). Reads DEPOT_TEST_S3_ENDPOINT, _ACCESS_KEY, _SECRET_KEY,
// _REGION, _BUCKET; the read-only and quota cases also _RO_ACCESS_KEY/_RO_SECRET_KEY/_RO_BUCKET
// and _FULL_ACCESS_KEY/_FULL_SECRET_KEY/_FULL_BUCKET. Without them every case is skipped. Each
// case works under its own prefix t/<case name>/.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "storage/s3/s3_client.h"
#include "support/digests.h"
#include "support/memory_sink.h"

namespace depot {
namespace {

using testing::MemorySink;

std::string env(const std::string& name) {
  const char* v = std::getenv(("DEPOT_TEST_S3_" + name).c_str());
  return v ? v : "";
}

std::span<const std::byte> bytes(std::string_view s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

std::string random_bytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

class S3Rgw : public ::testing::Test {
 protected:
  void SetUp() override {
    if (env("ENDPOINT").empty()) GTEST_SKIP() << "DEPOT_TEST_S3_ENDPOINT unset";
    prefix_ = std::string("t/") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }

  S3Config config(const std::string& who = "") {
    S3Config c;
    c.endpoint = env("ENDPOINT");
    c.region = env("REGION");
    c.where = S3Location{env(who + "BUCKET"), prefix_};
    c.creds = S3Credentials{env(who + "ACCESS_KEY"), env(who + "SECRET_KEY"), "", "test"};
    c.retry.base_delay = std::chrono::milliseconds(20);
    return c;
  }

  std::unique_ptr<S3Client> open(S3Config c) {
    auto client = S3Client::open(std::move(c));
    EXPECT_TRUE(client.ok()) << client.error().message;
    return client.ok() ? std::move(client).value() : nullptr;
  }

  // A client on this case's prefix, emptied of what an earlier run left.
  std::unique_ptr<S3Client> open() {
    auto s3 = open(config());
    if (!s3) return s3;
    std::vector<std::string> old = keys_under(*s3);
    EXPECT_TRUE(s3->remove_many(old).ok());
    Status st = s3->list_multipart_uploads(
        [&](const S3Upload& u) { return s3->abort_multipart(u.key, u.upload_id); });
    EXPECT_TRUE(st.ok()) << st.error().message;
    return s3;
  }

  static std::string get_all(S3Client& s3, std::string_view key) {
    MemorySink sink;
    auto info = s3.get(key, sink);
    EXPECT_TRUE(info.ok()) << info.error().message;
    return sink.data();
  }

  static std::vector<std::string> keys_under(S3Client& s3, std::string_view under = {}) {
    std::vector<std::string> keys;
    Status st = s3.list(
        [&](const S3ObjectInfo& o) {
          keys.push_back(o.key);
          return ok_status();
        },
        under);
    EXPECT_TRUE(st.ok()) << st.error().message;
    return keys;
  }

  // Expects `error` to name `url` and to contain `cause`.
  static void expect_names(const Error& error, const std::string& url, const std::string& cause) {
    EXPECT_NE(error.message.find(url), std::string::npos) << error.message;
    EXPECT_NE(error.message.find(cause), std::string::npos) << error.message;
  }

  std::string prefix_;
};

TEST_F(S3Rgw, PutGetHeadRangeDelete) {
  auto s3 = open();
  ASSERT_TRUE(s3);
  std::string body = random_bytes(300000, 1);
  auto etag = s3->put("dir/file.bin", bytes(body), sha256_hex(body), "application/x-test");
  ASSERT_TRUE(etag.ok()) << etag.error().message;
  EXPECT_FALSE(etag->empty());

  auto info = s3->head("dir/file.bin");
  ASSERT_TRUE(info.ok()) << info.error().message;
  ASSERT_TRUE(info->has_value());
  EXPECT_EQ((*info)->size, body.size());
  EXPECT_EQ((*info)->etag, *etag);
  auto age = std::chrono::system_clock::now() - (*info)->last_modified;
  EXPECT_LT(std::chrono::abs(age), std::chrono::minutes(5));

  EXPECT_EQ(get_all(*s3, "dir/file.bin"), body);
  MemorySink part;
  auto ranged = s3->get("dir/file.bin", part, S3Range{1000, 5000});
  ASSERT_TRUE(ranged.ok()) << ranged.error().message;
  EXPECT_EQ(part.data(), body.substr(1000, 5000));
  EXPECT_EQ(ranged->size, body.size());  // the whole object's size, from Content-Range

  ASSERT_TRUE(s3->remove("dir/file.bin").ok());
  auto gone = s3->head("dir/file.bin");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
  MemorySink none;
  auto missing = s3->get("dir/file.bin", none);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  expect_names(missing.error(), s3->url("dir/file.bin"), "no such object");
  EXPECT_TRUE(s3->remove("dir/file.bin").ok());  // removing a missing key is fine
}

TEST_F(S3Rgw, EmptyObject) {
  auto s3 = open();
  ASSERT_TRUE(s3);
  ASSERT_TRUE(s3->put("empty", {}, sha256_hex("")).ok());
  auto info = s3->head("empty");
  ASSERT_TRUE(info.ok() && info->has_value());
  EXPECT_EQ((*info)->size, 0u);
  EXPECT_EQ(get_all(*s3, "empty"), "");
}

TEST_F(S3Rgw, WrongSha256IsRefusedAndNothingStored) {
  auto s3 = open();
  ASSERT_TRUE(s3);
  std::string body = "the real bytes";
  auto r = s3->put("liar", bytes(body), sha256_hex("other bytes"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kDigestMismatch);
  EXPECT_FALSE(r.error().transient);
  expect_names(r.error(), s3->url("liar"), "digest mismatch");
  auto info = s3->head("liar");
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->has_value());

  // An existing object keeps its bytes when a lying PUT replaces it.
  ASSERT_TRUE(s3->put("kept", bytes(body), sha256_hex(body)).ok());
  EXPECT_FALSE(s3->put("kept", bytes("new"), sha256_hex("not new")).ok());
  EXPECT_EQ(get_all(*s3, "kept"), body);
}

TEST_F(S3Rgw, MultipartOver16MiBReadsBackEqual) {
  auto s3 = open();
  ASSERT_TRUE(s3);
  constexpr size_t kPart = 5u << 20;
  std::string body = random_bytes(3 * kPart + 1234567, 2);  // ~16.2 MiB: parts 5, 5, 5, 1.2
  auto id = s3->create_multipart("big/blob", "application/octet-stream");
  ASSERT_TRUE(id.ok()) << id.error().message;
  std::vector<S3Part> parts;
  for (size_t off = 0, n = 1; off < body.size(); off += kPart, ++n) {
    std::string_view chunk = std::string_view(body).substr(off, kPart);
    auto etag =
        s3->upload_part("big/blob", *id, static_cast<int>(n), bytes(chunk), sha256_hex(chunk));
    ASSERT_TRUE(etag.ok()) << etag.error().message;
    parts.push_back({static_cast<int>(n), *etag});
  }
  EXPECT_FALSE(s3->head("big/blob")->has_value());  // invisible until completed
  auto etag = s3->complete_multipart("big/blob", *id, parts);
  ASSERT_TRUE(etag.ok()) << etag.error().message;
  auto info = s3->head("big/blob");
  ASSERT_TRUE(info.ok() && info->has_value());
  EXPECT_EQ((*info)->size, body.size());
  EXPECT_TRUE((*info)->etag.ends_with("-4")) << (*info)->etag;
  // RGW 16.2 answers CompleteMultipartUpload with an empty ETag; HEAD has it.
  EXPECT_TRUE(etag->empty() || *etag == (*info)->etag) << *etag;
  EXPECT_TRUE(get_all(*s3, "big/blob") == body);
}

TEST_F(S3Rgw, MultipartPartWithWrongDigestOrTooSmall) {
  auto s3 = open();
  ASSERT_TRUE(s3);
  auto id = s3->create_multipart("mp");
  ASSERT_TRUE(id.ok()) << id.error().message;
  auto bad = s3->upload_part("mp", *id, 1, bytes("abc"), sha256_hex("abd"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kDigestMismatch);
  auto p1 = s3->upload_part("mp", *id, 1, bytes("small"), sha256_hex("small"));
  auto p2 = s3->upload_part("mp", *id, 2, bytes("parts"), sha256_hex("parts"));
  ASSERT_TRUE(p1.ok() && p2.ok());
  std::vector<S3Part> parts = {{1, *p1}, {2, *p2}};
  auto done = s3->complete_multipart("mp", *id, parts);
  ASSERT_FALSE(done.ok());
  EXPECT_EQ(done.error().code, ErrorCode::kInvalidArgument) << done.error().message;
  expect_names(done.error(), s3->url("mp"), "minimum part size");
  EXPECT_TRUE(s3->abort_multipart("mp", *id).ok());
}

TEST_F(S3Rgw, AbortAndListMultipartUploads) {
  auto s3 = open();
  ASSERT_TRUE(s3);
  std::map<std::string, std::string> ids;
  for (std::string key : {"a", "b c", "d/e+f"}) {
    auto id = s3->create_multipart(key);
    ASSERT_TRUE(id.ok()) << id.error().message;
    ids[key] = *id;
  }
  auto listed = [&] {
    std::map<std::string, std::string> out;
    Status st = s3->list_multipart_uploads([&](const S3Upload& u) {
      out[u.key] = u.upload_id;
      EXPECT_LT(std::chrono::abs(std::chrono::system_clock::now() - u.initiated),
                std::chrono::minutes(5));
      return ok_status();
    });
    EXPECT_TRUE(st.ok()) << st.error().message;
    return out;
  };
  EXPECT_EQ(listed(), ids);
  ASSERT_TRUE(s3->abort_multipart("b c", ids["b c"]).ok());
  EXPECT_TRUE(s3->abort_multipart("b c", ids["b c"]).ok());  // again: already gone, fine
  ids.erase("b c");
  EXPECT_EQ(listed(), ids);
  for (auto& [key, id] : ids) ASSERT_TRUE(s3->abort_multipart(key, id).ok());
  EXPECT_TRUE(listed().empty());
  EXPECT_TRUE(keys_under(*s3).empty());
}

TEST_F(S3Rgw, ListingPaginatesPast1000) {
  auto s3 = open();
  ASSERT_TRUE(s3);
  std::vector<std::string> bodies;
  std::vector<S3PutItem> items;
  std::set<std::string> expected;
  for (int i = 0; i < 1234; ++i) bodies.push_back("object " + std::to_string(i));
  for (int i = 0; i < 1234; ++i) {
    std::string key = "many/" + std::to_string(100000 + i);
    items.push_back({key, bytes(bodies[i]), sha256_hex(bodies[i]), ""});
    expected.insert(key);
  }
  items.push_back({"other/x", bytes(bodies[0]), sha256_hex(bodies[0]), ""});
  for (const Status& st : s3->put_many(items, 16)) ASSERT_TRUE(st.ok()) << st.error().message;
  auto keys = keys_under(*s3, "many");
  EXPECT_EQ(keys.size(), 1234u);
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()), expected);
  EXPECT_EQ(keys_under(*s3).size(), 1235u);
  EXPECT_EQ(keys_under(*s3, "other/"), std::vector<std::string>{"other/x"});
}

TEST_F(S3Rgw, KeysWithSpecialCharacters) {
  auto s3 = open();
  ASSERT_TRUE(s3);
  std::vector<std::string> keys = {
      "sp ace",      "plus+sign",  "per%cent", "uni/\xc3\xbcml\xe2\x82\xac",
      "amp&eq=q?h#", "star*(p)!'", "tilde~x",  "semi;colon,@$"};
  for (const std::string& k : keys) {
    std::string body = "body of " + k;
    auto r = s3->put(k, bytes(body), sha256_hex(body));
    ASSERT_TRUE(r.ok()) << k << ": " << r.error().message;
    auto info = s3->head(k);
    ASSERT_TRUE(info.ok() && info->has_value()) << k;
    EXPECT_EQ(get_all(*s3, k), body) << k;
  }
  auto listed = keys_under(*s3);
  EXPECT_EQ(std::set<std::string>(listed.begin(), listed.end()),
            std::set<std::string>(keys.begin(), keys.end()));
  ASSERT_TRUE(s3->remove_many(keys).ok());
  EXPECT_TRUE(keys_under(*s3).empty());
}

TEST_F(S3Rgw, PutMany2000AndRemoveMany) {
  auto s3 = open();
  ASSERT_TRUE(s3);
  std::vector<std::string> bodies, keys;
  for (int i = 0; i < 2000; ++i) {
    bodies.push_back(random_bytes(100 + i % 900, i));
    keys.push_back("small/" + std::to_string(i) + ".bin");
  }
  std::vector<S3PutItem> items;
  for (int i = 0; i < 2000; ++i)
    items.push_back({keys[i], bytes(bodies[i]), sha256_hex(bodies[i]), ""});
  std::string liar = "liar";
  items.push_back({"small/liar", bytes(liar), sha256_hex("not liar"), ""});
  items.push_back({"../escape", bytes(liar), sha256_hex(liar), ""});
  auto t0 = std::chrono::steady_clock::now();
  auto results = s3->put_many(items, 32);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  std::cout << "put_many: 2,000 objects in " << ms.count() << " ms\n";
  ASSERT_EQ(results.size(), items.size());
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(results[i].ok()) << results[i].error().message;
  ASSERT_FALSE(results[2000].ok());
  EXPECT_EQ(results[2000].error().code, ErrorCode::kDigestMismatch);
  ASSERT_FALSE(results[2001].ok());
  EXPECT_EQ(results[2001].error().code, ErrorCode::kUnsafePath);
  EXPECT_EQ(keys_under(*s3, "small").size(), 2000u);
  for (int i : {0, 777, 1999}) EXPECT_TRUE(get_all(*s3, keys[i]) == bodies[i]);

  ASSERT_TRUE(s3->remove_many(keys).ok());  // two DeleteObjects requests
  EXPECT_TRUE(keys_under(*s3, "small").empty());
}

TEST_F(S3Rgw, ThreadsShareOneClient) {
  auto s3 = open();
  ASSERT_TRUE(s3);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 30; ++i) {
        std::string key = "th/" + std::to_string(t) + "/" + std::to_string(i);
        std::string body = random_bytes(1000 + i, t * 100 + i);
        if (!s3->put(key, bytes(body), sha256_hex(body)).ok()) ++failures;
        MemorySink sink;
        if (!s3->get(key, sink).ok() || sink.data() != body) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(keys_under(*s3, "th").size(), 180u);
}

TEST_F(S3Rgw, WrongSecretNamesBucketAndCause) {
  S3Config c = config();
  c.creds.secret_key = "not-the-secret";
  auto r = S3Client::open(c);
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(r.error().transient);
  expect_names(r.error(), "s3://" + c.where.bucket, "bad credentials");
  expect_names(r.error(), "SignatureDoesNotMatch", "HTTP 403");

  c.creds.access_key = "NOSUCHACCESSKEY";
  auto unknown = S3Client::open(c);
  ASSERT_FALSE(unknown.ok());
  expect_names(unknown.error(), "s3://" + c.where.bucket, "bad credentials");
}

TEST_F(S3Rgw, MissingBucketNamesBucketAndCause) {
  S3Config c = config();
  c.where.bucket = "no-such-bucket-here";
  auto r = S3Client::open(c);
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(r.error().transient);
  expect_names(r.error(), "s3://no-such-bucket-here/", "the bucket does not exist");
}

TEST_F(S3Rgw, RgwAcceptsAnyRegion) {
  // A fact, not a wish: RGW 16.2 does not check the region of the SigV4 scope, so a wrong
  // region cannot fail here (AWS answers AuthorizationHeaderMalformed; see s3_error_test).
  S3Config c = config();
  c.region = "eu-west-7";
  EXPECT_TRUE(open(c) != nullptr);
}

TEST_F(S3Rgw, SkewedClockNamesBucketAndCause) {
  S3Config c = config();
  c.clock_offset = std::chrono::hours(-2);
  auto r = S3Client::open(c);
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(r.error().transient);
  expect_names(r.error(), "s3://" + c.where.bucket, "clock skew");
  expect_names(r.error(), "RequestTimeTooSkewed", "HTTP 403");
}

TEST_F(S3Rgw, EndpointDownNamesBucketAndEndpoint) {
  std::string down = env("DOWN_ENDPOINT");
  if (down.empty()) GTEST_SKIP() << "DEPOT_TEST_S3_DOWN_ENDPOINT unset";
  S3Config c = config();
  c.endpoint = down;
  c.retry.max_attempts = 2;
  auto r = S3Client::open(c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnreachable);
  EXPECT_TRUE(r.error().transient);
  expect_names(r.error(), "s3://" + c.where.bucket, "endpoint " + down + " unreachable");
}

TEST_F(S3Rgw, QuotaFullNamesKeyAndCause) {
  if (env("FULL_BUCKET").empty()) GTEST_SKIP() << "DEPOT_TEST_S3_FULL_BUCKET unset";
  auto s3 = open(config("FULL_"));
  ASSERT_TRUE(s3);
  std::string body = random_bytes(64 * 1024, 3);
  Result<std::string> r = std::string();
  int i = 0;
  for (; i < 100 && r.ok(); ++i)
    r = s3->put("fill/" + std::to_string(i), bytes(body), sha256_hex(body));
  ASSERT_FALSE(r.ok()) << "quota never hit";
  EXPECT_FALSE(r.error().transient);
  expect_names(r.error(), s3->url("fill/" + std::to_string(i - 1)), "storage full");
  expect_names(r.error(), "QuotaExceeded", "PUT failed");
}

TEST_F(S3Rgw, ReadOnlyUserCanReadNotWrite) {
  if (env("RO_BUCKET").empty()) GTEST_SKIP() << "DEPOT_TEST_S3_RO_BUCKET unset";
  S3Config c = config("RO_");
  c.where.prefix = "";
  auto s3 = open(c);
  ASSERT_TRUE(s3);
  EXPECT_EQ(get_all(*s3, "seed"), "seeded before the user became read-only");
  std::string body = "x";
  auto r = s3->put("new", bytes(body), sha256_hex(body));
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(r.error().transient);
  expect_names(r.error(), s3->url("new"), "access denied");
  auto del = s3->remove("seed");
  ASSERT_FALSE(del.ok());
  expect_names(del.error(), s3->url("seed"), "access denied");
}

}  // namespace
}  // namespace depot

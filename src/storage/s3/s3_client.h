#pragma once
// S3Client: the object-storage operations depot needs, over libcurl with SigV4 signing by
// CURLOPT_AWS_SIGV4 and path-style URLs (http://endpoint/bucket/key), as RGW and MinIO want.
// Keys are relative to the location's prefix; the client joins and percent-encodes them.
// Every upload declares the body's sha256 (x-amz-content-sha256), which the server checks, so
// an object never holds bytes other than the ones declared. Idempotent requests are retried
// on transient failures (RetryPolicy); CreateMultipartUpload and CompleteMultipartUpload are
// not. Thread-safe: every call may come from any thread; connections are pooled.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/byte_sink.h"
#include "core/clock.h"
#include "core/result.h"
#include "storage/s3/s3_credentials.h"
#include "storage/s3/s3_url.h"
#include "storage/s3/s3_xml.h"
#include "transfer/retry_policy.h"

namespace depot {

struct S3Config {
  std::string endpoint;  // "http(s)://host[:port]", no path
  std::string region = "us-east-1";
  S3Location where;
  S3Credentials creds;
  std::chrono::seconds connect_timeout{10};
  std::chrono::seconds stall_timeout{60};  // no byte moving for this long: a transient failure
  RetryPolicy retry;
  // Added to this machine's clock when signing; non-zero only to simulate a skewed clock.
  std::chrono::seconds clock_offset{0};
  Clock* clock = nullptr;  // backoff jitter; nullptr: the system clock
};

struct S3Range {
  uint64_t offset = 0;
  uint64_t length = 0;  // > 0
};

struct S3PutItem {
  std::string key;
  std::span<const std::byte> body;  // must stay valid during put_many
  std::string sha256_hex;
  std::string content_type;  // "" sends none
};

class S3Client {
 public:
  // Checks the configuration, then lists the prefix once: a missing bucket, bad credentials, a
  // wrong region, a skewed clock or an unreachable endpoint fail here, naming the bucket.
  static Result<std::unique_ptr<S3Client>> open(S3Config config);
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;

  // Lists at most one key under the prefix: a cheap check that the endpoint answers, the
  // bucket exists and the credentials are accepted (what open() checks).
  Status check();

  const S3Location& where() const;
  // "s3://bucket/prefix/key", for messages.
  std::string url(std::string_view key) const;

  // Size, ETag, Last-Modified and stored sha256 (S3ObjectInfo::sha256) of `key`; nullopt when it does not exist (HTTP 404; a HEAD
  // answer has no body, so a bucket deleted since open() looks the same).
  Result<std::optional<S3ObjectInfo>> head(std::string_view key);

  // Streams `key` (or `range` of it) into `out`; the sink is reset before a retry. Returns the
  // object's size (whole object, also for a range), ETag and Last-Modified. A missing key is
  // kNotFound.
  Result<S3ObjectInfo> get(std::string_view key, ByteSink& out,
                           std::optional<S3Range> range = std::nullopt);

  // Stores `body` under `key`, declaring `sha256_hex` (lower-case hex): the server refuses a
  // body that does not match (kDigestMismatch) and the key stays as it was. The digest is
  // stored with the object too (x-amz-meta-sha256, see head()). Returns the ETag.
  Result<std::string> put(std::string_view key, std::span<const std::byte> body,
                          std::string_view sha256_hex, std::string_view content_type = {});

  // Many PUTs at once, at most `parallel` in flight, each retried like put(); one Status per
  // item, in order.
  std::vector<Status> put_many(std::span<const S3PutItem> items, size_t parallel);

  // Multipart upload: parts are numbered 1..10000 and, except the last, at least 5 MiB. The
  // object appears only at complete_multipart. Returns the upload id / the part's ETag /
  // the object's ETag ("" from RGW 16.2, whose answer carries an empty ETag; head() shows it).
  // `sha256_hex`, when given, is stored with the object (x-amz-meta-sha256): pass only a digest
  // the caller will have verified before it completes the upload.
  Result<std::string> create_multipart(std::string_view key, std::string_view content_type = {},
                                       std::string_view sha256_hex = {});
  Result<std::string> upload_part(std::string_view key, std::string_view upload_id, int number,
                                  std::span<const std::byte> body, std::string_view sha256_hex);
  Result<std::string> complete_multipart(std::string_view key, std::string_view upload_id,
                                         std::span<const S3Part> parts);
  Status abort_multipart(std::string_view key, std::string_view upload_id);
  // Unfinished uploads under the prefix (keys relative to it), page by page; `fn` may stop the
  // listing by returning an error, which is returned.
  Status list_multipart_uploads(const std::function<Status(const S3Upload&)>& fn);

  // Objects under the prefix, or under prefix/`under` when given (ListObjectsV2, 1,000 a page,
  // keys relative to the prefix, in key order); `fn` may stop it by returning an error.
  Status list(const std::function<Status(const S3ObjectInfo&)>& fn, std::string_view under = {});

  // Deletes `key`; a missing key is not an error.
  Status remove(std::string_view key);
  // Deletes `keys` with DeleteObjects, 1,000 per request; the first failure is returned,
  // naming its key. Missing keys are not errors.
  Status remove_many(std::span<const std::string> keys);

 private:
  struct Impl;
  explicit S3Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace depot

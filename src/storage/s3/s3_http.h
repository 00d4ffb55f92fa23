#pragma once
// The HTTP layer of S3Client (internal to storage/s3): signed requests over pooled libcurl
// handles, retried with backoff when idempotent and the failure is transient. libcurl stays
// in s3_http.cc. Thread-safe.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/byte_sink.h"
#include "core/result.h"

namespace depot {

struct S3Config;

struct S3Request {
  const char* method = "GET";  // GET, HEAD, PUT, POST, DELETE
  std::string key;             // full object key; "" addresses the bucket
  std::string query;  // canonical form: parameters sorted, values aws_uri_encode'd, "uploads="
  std::vector<std::string> headers;  // extra "Name: value" lines (all signed)
  std::span<const std::byte> body;   // PUT and POST
  std::string body_sha256;           // hex sha256 of body; "" computes it
  ByteSink* sink = nullptr;          // GET: a 2xx body streams here instead of S3Response::body
  std::string op;                    // names the request in messages ("PUT", "ListObjectsV2")
  std::string what;                  // the s3:// URL it concerns, for messages
  bool idempotent = true;            // may be retried
  std::vector<long> accepted;        // non-2xx statuses returned as answers (HEAD: 404)
};

struct S3Response {
  long status = 0;
  std::string body;  // unless streamed to the sink
  std::string etag;  // without quotes
  std::string last_modified;
  std::string date;  // the server's Date header
  std::string content_range;
  std::string meta_sha256;  // the x-amz-meta-sha256 header depot stores with each object
  int64_t content_length = -1;
};

// The user-metadata header in which depot stores an object's sha256 (hex), declared when the
// object is written: the PUT's verified body digest, or a multipart object's verified digest.
inline constexpr const char* kMetaSha256 = "x-amz-meta-sha256";

// An HTTP-date (Last-Modified) as a time; nullopt when unparsable.
std::optional<std::chrono::system_clock::time_point> parse_http_time(const std::string& text);

class S3Http {
 public:
  explicit S3Http(const S3Config& config);
  ~S3Http();
  S3Http(const S3Http&) = delete;
  S3Http& operator=(const S3Http&) = delete;

  // One request, retried when allowed. A non-2xx answer not in `accepted` is an Error in
  // words (s3_status_error); transport failures name the endpoint.
  Result<S3Response> perform(const S3Request& request);

  // Many requests over one multi handle, at most `parallel` in flight, each retried as by
  // perform(); results in order.
  std::vector<Result<S3Response>> perform_many(std::span<const S3Request> requests,
                                               size_t parallel);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace depot

#pragma once
// The XML of S3 answers and request bodies, through expat; no I/O. Parsers take a whole answer
// (S3 sends at most ~1,000 entries per page) and `what` (an s3:// URL) for their messages; a
// malformed answer is a kParse error, never a crash. DOCTYPE and entity declarations are
// refused. Thread-safe.

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace depot {

using WallTime = std::chrono::system_clock::time_point;

struct S3ObjectInfo {
  std::string key;  // full object key in answers; relative to the prefix from S3Client
  uint64_t size = 0;
  std::string etag;  // without quotes; "" when the server sent none
  WallTime last_modified{};
  std::string sha256;  // x-amz-meta-sha256 (HEAD only; "" when absent)
};

struct S3Upload {  // an unfinished multipart upload
  std::string key;
  std::string upload_id;
  WallTime initiated{};
};

struct S3Part {
  int number = 0;    // 1..10000
  std::string etag;  // as UploadPart answered, without quotes
};

// The <Error> document of a failed request (every field may be empty).
struct S3ErrorBody {
  std::string code;  // "NoSuchBucket", "SignatureDoesNotMatch", ...
  std::string message;
  std::string region;  // AuthorizationHeaderMalformed / PermanentRedirect on AWS
  std::string bucket;
};

struct S3ListPage {
  std::vector<S3ObjectInfo> objects;
  bool truncated = false;
  std::string next_token;  // NextContinuationToken
};

struct S3UploadsPage {
  std::vector<S3Upload> uploads;
  bool truncated = false;
  std::string next_key_marker;
  std::string next_upload_id_marker;
};

struct S3DeleteFailure {
  std::string key;
  S3ErrorBody error;
};

// An <Error> document; kParse when `body` is not one.
Result<S3ErrorBody> parse_s3_error(std::string_view body);

// ListObjectsV2 (ListBucketResult). Keys are decoded when the answer says
// <EncodingType>url</EncodingType>. A truncated page without a continuation token fails.
Result<S3ListPage> parse_list_objects_v2(std::string_view body, std::string_view what);

// ListMultipartUploads (ListMultipartUploadsResult), decoded likewise.
Result<S3UploadsPage> parse_list_multipart_uploads(std::string_view body, std::string_view what);

// InitiateMultipartUploadResult: the UploadId (non-empty).
Result<std::string> parse_initiate_multipart(std::string_view body, std::string_view what);

// CompleteMultipartUploadResult: the ETag without quotes (RGW 16.2 sends an empty one). An
// <Error> document (S3 may send one with HTTP 200) is returned as the error value's body.
Result<std::string> parse_complete_multipart(std::string_view body, std::string_view what,
                                             S3ErrorBody* error_out);

// DeleteResult: the keys that failed, with their error (deleted keys are not listed in quiet
// mode).
Result<std::vector<S3DeleteFailure>> parse_delete_result(std::string_view body,
                                                         std::string_view what);

// Request bodies. Keys and ETags are XML-escaped.
std::string complete_multipart_xml(std::span<const S3Part> parts);
std::string delete_objects_xml(std::span<const std::string> keys);  // quiet mode

// "2026-12-04T04:42:23.872Z" (ISO 8601, UTC); nullopt when malformed.
std::optional<WallTime> parse_iso8601(std::string_view text);

}  // namespace depot

#pragma once
// What a failed S3 request means, in words: bad credentials, missing bucket, wrong region, clock
// skew, full or read-only bucket, digest mismatch, endpoint down. Pure, thread-safe.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "storage/s3/s3_xml.h"

namespace depot {

// The Error of an S3 answer with HTTP status `status` (not 2xx) and error document `body`
// (possibly empty, as for HEAD, or not XML). `what` is the s3:// URL the request concerned,
// `op` names the request ("PUT", "GET", "CompleteMultipartUpload", ...). The message is
// "WHAT: OP failed: CAUSE (CODE, HTTP STATUS)". Codes: kNotFound for a missing key or upload;
// kDigestMismatch when the server found the body unlike its declared digest; kInvalidArgument
// for requests S3 finds malformed; kHttp transient for 5xx, 429, SlowDown, RequestTimeout;
// kIo (permanent) for the rest: the storage refuses (credentials, bucket, region, clock, quota,
// access). `server_ahead` is the answer's Date minus this machine's signing time, when known:
// a clock-skew message then says by how much, and a 403 without detail (HEAD) whose skew is
// 5 minutes or more is blamed on the clock.
Error s3_status_error(std::string_view op, std::string_view what, long status,
                      std::string_view body,
                      std::optional<std::chrono::seconds> server_ahead = std::nullopt);

// Like s3_status_error, for an error document already parsed (CompleteMultipartUpload may send
// one with HTTP 200).
Error s3_code_error(std::string_view op, std::string_view what, long status,
                    const S3ErrorBody& err,
                    std::optional<std::chrono::seconds> server_ahead = std::nullopt);

}  // namespace depot

#include "storage/s3/s3_error.h"

#include <array>
#include <cctype>

#include "core/rel_path.h"

namespace depot {
namespace {

struct Cause {
  std::string_view code;
  ErrorCode error;
  bool transient;
  std::string_view words;
};

constexpr std::array kCauses = {
    Cause{"InvalidAccessKeyId", ErrorCode::kIo, false,
          "bad credentials: the server does not know this access key"},
    Cause{"SignatureDoesNotMatch", ErrorCode::kIo, false,
          "bad credentials: the signature does not match (wrong secret key?)"},
    Cause{"InvalidToken", ErrorCode::kIo, false, "bad credentials: the session token is invalid"},
    Cause{"ExpiredToken", ErrorCode::kIo, false, "bad credentials: the session token expired"},
    Cause{"AccessDenied", ErrorCode::kIo, false,
          "access denied: these credentials may not do this (a read-only user or bucket?)"},
    Cause{"AllAccessDisabled", ErrorCode::kIo, false, "access denied: all access is disabled"},
    Cause{"NoSuchBucket", ErrorCode::kIo, false, "the bucket does not exist"},
    Cause{"NoSuchKey", ErrorCode::kNotFound, false, "no such object"},
    Cause{"NoSuchUpload", ErrorCode::kNotFound, false,
          "no such multipart upload (completed or aborted already)"},
    Cause{"AuthorizationHeaderMalformed", ErrorCode::kIo, false,
          "wrong region: the server expects another region in the signature"},
    Cause{"PermanentRedirect", ErrorCode::kIo, false,
          "wrong region or endpoint: the bucket lives elsewhere"},
    Cause{"IllegalLocationConstraintException", ErrorCode::kIo, false,
          "wrong region: the bucket lives in another region"},
    Cause{"InvalidRegion", ErrorCode::kIo, false, "wrong region"},
    Cause{"RequestTimeTooSkewed", ErrorCode::kIo, false,
          "clock skew: this machine's clock differs too much from the server's"},
    Cause{"RequestExpired", ErrorCode::kIo, false,
          "clock skew: the request's time is too far from the server's"},
    Cause{"QuotaExceeded", ErrorCode::kIo, false, "storage full: the quota is exceeded"},
    Cause{"EntityTooLarge", ErrorCode::kIo, false,
          "storage full or object too large: the server refuses its size"},
    Cause{"InsufficientStorage", ErrorCode::kIo, false, "storage full"},
    Cause{"XAmzContentSHA256Mismatch", ErrorCode::kDigestMismatch, false,
          "digest mismatch: the body is not what its declared sha256 says; not stored"},
    Cause{"BadDigest", ErrorCode::kDigestMismatch, false,
          "digest mismatch: the body is not what its declared digest says; not stored"},
    Cause{"InvalidDigest", ErrorCode::kDigestMismatch, false, "the declared digest is invalid"},
    Cause{"EntityTooSmall", ErrorCode::kInvalidArgument, false,
          "a part is smaller than the server's minimum part size"},
    Cause{"InvalidPart", ErrorCode::kInvalidArgument, false,
          "a part is missing or its ETag does not match"},
    Cause{"InvalidPartOrder", ErrorCode::kInvalidArgument, false,
          "the parts are not in ascending order"},
    Cause{"InvalidBucketName", ErrorCode::kInvalidArgument, false, "invalid bucket name"},
    Cause{"KeyTooLongError", ErrorCode::kInvalidArgument, false, "the key is too long"},
    Cause{"SlowDown", ErrorCode::kHttp, true, "the server asks to slow down"},
    Cause{"ServiceUnavailable", ErrorCode::kHttp, true, "the service is unavailable"},
    Cause{"InternalError", ErrorCode::kHttp, true, "the server failed internally"},
    Cause{"RequestTimeout", ErrorCode::kNetwork, true,
          "the server timed out waiting for the request body"},
};

// A cause from the HTTP status alone (HEAD answers carry no body).
Cause status_cause(long status) {
  if (status == 404) return {"", ErrorCode::kNotFound, false, "not found"};
  if (status == 403) {
    return {"", ErrorCode::kIo, false,
            "forbidden: bad credentials, clock skew or no access (no error detail in the answer)"};
  }
  if (status == 507) return {"", ErrorCode::kIo, false, "storage full"};
  if (status == 301 || status == 307) {
    return {"", ErrorCode::kIo, false, "wrong region or endpoint: the server redirects"};
  }
  bool transient = status >= 500 || status == 408 || status == 429;
  if (transient) return {"", ErrorCode::kHttp, true, "the server failed (retryable)"};
  return {"", ErrorCode::kHttp, false, "unexpected answer"};
}

// The code as sent when it is a plain word, else quoted.
std::string printable_code(std::string_view code) {
  for (char c : code) {
    if (!std::isalnum(static_cast<unsigned char>(c))) return quote_untrusted(code);
  }
  return std::string(code);
}

}  // namespace

Error s3_code_error(std::string_view op, std::string_view what, long status,
                    const S3ErrorBody& err) {
  Cause cause = status_cause(status);
  for (const Cause& c : kCauses) {
    if (c.code == err.code) cause = c;
  }
  std::string message = std::string(what) + ": " + std::string(op) + " failed: ";
  message += cause.words;
  if (!err.region.empty()) message += " (the server names region " + err.region + ")";
  if (!err.message.empty()) message += ": " + quote_untrusted(err.message);
  message += " (";
  if (!err.code.empty()) message += printable_code(err.code) + ", ";
  message += "HTTP " + std::to_string(status) + ")";
  return make_error(cause.error, std::move(message), cause.transient);
}

Error s3_status_error(std::string_view op, std::string_view what, long status,
                      std::string_view body) {
  S3ErrorBody err;
  if (!body.empty()) {
    if (auto parsed = parse_s3_error(body); parsed.ok()) err = std::move(parsed).value();
  }
  return s3_code_error(op, what, status, err);
}

}  // namespace depot

#include "storage/s3/s3_error.h"

#include <array>
#include <cctype>

#include "core/rel_path.h"
#include "core/units.h"

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
          "bad credentials: the access key was rejected (the server does not know it)"},
    Cause{"SignatureDoesNotMatch", ErrorCode::kIo, false,
          "bad credentials: the secret key was rejected (the signature does not match: wrong "
          "secret key for this access key?)"},
    Cause{"InvalidToken", ErrorCode::kIo, false, "bad credentials: the session token is invalid"},
    Cause{"ExpiredToken", ErrorCode::kIo, false, "bad credentials: the session token expired"},
    Cause{"AccessDenied", ErrorCode::kIo, false,
          "access denied: these credentials may not read this (no permission on the bucket?)"},
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
    Cause{"QuotaExceeded", ErrorCode::kIo, false,
          "storage full: the quota of the bucket or of its owner is exceeded"},
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

// Requests that change the bucket: a refusal of these is what a read-only user or bucket gets.
bool is_write(std::string_view op) {
  for (std::string_view w : {"PUT", "POST", "DELETE", "UploadPart", "CreateMultipartUpload",
                             "CompleteMultipartUpload", "AbortMultipartUpload", "DeleteObjects"}) {
    if (op.starts_with(w)) return true;
  }
  return false;
}

constexpr std::string_view kWriteDenied =
    "access denied: these credentials may not write to this bucket (a read-only user, or a "
    "bucket policy or ACL forbidding writes?)";

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

// SigV4 servers refuse requests signed more than 15 minutes off; a bare 403 with a skew this
// large is most likely that.
constexpr std::chrono::seconds kSkewHint{5 * 60};

std::string skew_words(std::chrono::seconds server_ahead) {
  auto s = server_ahead.count();
  return "this machine's clock is " + format_duration(std::chrono::seconds(s < 0 ? -s : s)) +
         (s < 0 ? " ahead of" : " behind") + " the server's";
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
                    const S3ErrorBody& err, std::optional<std::chrono::seconds> server_ahead) {
  Cause cause = status_cause(status);
  for (const Cause& c : kCauses) {
    if (c.code == err.code) cause = c;
  }
  if (err.code == "AccessDenied" && is_write(op)) cause.words = kWriteDenied;
  std::string message = std::string(what) + ": " + std::string(op) + " failed: ";
  bool skew_code = err.code == "RequestTimeTooSkewed" || err.code == "RequestExpired";
  bool bare_403 = status == 403 && err.code.empty();
  if (server_ahead && bare_403 &&
      (*server_ahead >= kSkewHint || *server_ahead <= -kSkewHint)) {
    message += "forbidden, most likely clock skew: " + skew_words(*server_ahead) +
               " (no error detail in the answer)";
  } else {
    message += cause.words;
    if (server_ahead && skew_code) message += " (" + skew_words(*server_ahead) + ")";
  }
  if (!err.region.empty()) message += " (the server names region " + err.region + ")";
  if (!err.message.empty()) message += ": " + quote_untrusted(err.message);
  message += " (";
  if (!err.code.empty()) message += printable_code(err.code) + ", ";
  message += "HTTP " + std::to_string(status) + ")";
  return make_error(cause.error, std::move(message), cause.transient);
}

Error s3_status_error(std::string_view op, std::string_view what, long status,
                      std::string_view body, std::optional<std::chrono::seconds> server_ahead) {
  S3ErrorBody err;
  if (!body.empty()) {
    if (auto parsed = parse_s3_error(body); parsed.ok()) err = std::move(parsed).value();
  }
  return s3_code_error(op, what, status, err, server_ahead);
}

}  // namespace depot

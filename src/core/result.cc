#include "core/result.h"

namespace depot {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid-argument";
    case ErrorCode::kNotFound: return "not-found";
    case ErrorCode::kIo: return "io";
    case ErrorCode::kNetwork: return "network";
    case ErrorCode::kUnreachable: return "unreachable";
    case ErrorCode::kHttp: return "http";
    case ErrorCode::kDigestMismatch: return "digest-mismatch";
    case ErrorCode::kSizeMismatch: return "size-mismatch";
    case ErrorCode::kParse: return "parse";
    case ErrorCode::kUnsafePath: return "unsafe-path";
    case ErrorCode::kRefused: return "refused";
    case ErrorCode::kSignature: return "signature";
    case ErrorCode::kInternal: return "internal";
  }
  return "unknown";
}

std::string Error::to_string() const {
  return std::string(error_code_name(code)) + ": " + message;
}

}  // namespace depot

#pragma once
// Result<T>: an expected failure is a value. Errors name the file or URL they concern and say
// whether retrying can help (transient) or not (permanent).

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace depot {

enum class ErrorCode {
  kInvalidArgument,  // bad option or configuration
  kNotFound,         // upstream 404/410, missing local file
  kIo,               // local filesystem failure
  kNetwork,          // connection, DNS, timeout, reset
  kUnreachable,      // no connection to the host at all: DNS, refused, connect timeout, TLS
  kHttp,             // unexpected HTTP status
  kDigestMismatch,   // bytes do not match the declared digest
  kSizeMismatch,     // body shorter or longer than declared
  kParse,            // malformed index
  kUnsafePath,       // a path that would escape the mirror directory
  kRefused,          // a safety guard declined the operation
  kSignature,        // missing, bad or untrusted signature
  kInternal,
};

const char* error_code_name(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;  // names the file or URL
  bool transient = false;

  std::string to_string() const;
};

inline Error make_error(ErrorCode code, std::string message, bool transient = false) {
  return Error{code, std::move(message), transient};
}

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  const Error& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    assert(!ok_);
    return error_;
  }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

inline Status ok_status() { return Status(); }

}  // namespace depot

// Propagates an error from an expression yielding Status/Result.
#define DEPOT_TRY(expr)                               \
  do {                                                \
    auto depot_try_result_ = (expr);                  \
    if (!depot_try_result_.ok()) return depot_try_result_.error(); \
  } while (0)

#define DEPOT_CONCAT_INNER(a, b) a##b
#define DEPOT_CONCAT(a, b) DEPOT_CONCAT_INNER(a, b)
// Declares `lhs` from the value of a Result, or returns its error.
#define DEPOT_ASSIGN_OR_RETURN(lhs, expr)                                 \
  auto DEPOT_CONCAT(depot_res_, __LINE__) = (expr);                       \
  if (!DEPOT_CONCAT(depot_res_, __LINE__).ok())                           \
    return DEPOT_CONCAT(depot_res_, __LINE__).error();                    \
  lhs = std::move(DEPOT_CONCAT(depot_res_, __LINE__)).value()

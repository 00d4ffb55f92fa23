#pragma once
// S3 credentials from the environment or an AWS shared credentials file, as the AWS CLI reads
// them. Pure except load_s3_credentials (reads one file). Thread-safe.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace depot {

struct S3Credentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // "" unless temporary credentials
  std::string source;         // where they came from, for messages: "environment", "FILE [p]"
};

// getenv, injected: the value of a variable, or nullopt when unset.
using EnvFn = std::function<std::optional<std::string>(const char* name)>;
EnvFn process_env();

// AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN) when both are set; else the
// profile AWS_PROFILE (default "default") of AWS_SHARED_CREDENTIALS_FILE (default
// $HOME/.aws/credentials). Errors name the variable, or the file and profile, and what lacks.
Result<S3Credentials> load_s3_credentials(const EnvFn& env);

// The keys of `profile` in the text of a credentials file named `file` (for messages): INI
// sections "[name]", "key = value" lines, whole-line comments starting with '#' or ';'; key
// names aws_access_key_id, aws_secret_access_key, aws_session_token (case-insensitive); other
// keys are ignored; repeated sections merge, later values win.
Result<S3Credentials> parse_s3_credentials_file(std::string_view text, std::string_view profile,
                                                std::string_view file);

}  // namespace depot

#include "storage/s3/s3_credentials.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/rel_path.h"
#include "core/text.h"

namespace depot {
namespace {

constexpr size_t kMaxFileBytes = 1 << 20;

std::string where(std::string_view file, std::string_view profile) {
  return std::string(file) + " [" + std::string(profile) + "]";
}

Error file_error(std::string_view file, size_t line, const std::string& why) {
  return make_error(ErrorCode::kInvalidArgument,
                    std::string(file) + ":" + std::to_string(line) + ": " + why);
}

// Applies one "key = value" line of the wanted profile.
Status apply_line(std::string_view line, size_t number, std::string_view file,
                  S3Credentials& creds) {
  size_t eq = line.find('=');
  if (eq == std::string_view::npos) {
    return file_error(file, number, "expected \"key = value\", got " + quote_untrusted(line));
  }
  std::string key = ascii_lower(trim(line.substr(0, eq)));
  std::string value(trim(line.substr(eq + 1)));
  if (key == "aws_access_key_id") creds.access_key = value;
  if (key == "aws_secret_access_key") creds.secret_key = value;
  if (key == "aws_session_token") creds.session_token = value;
  return ok_status();
}

Result<std::string> read_small_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return make_error(ErrorCode::kInvalidArgument,
                      "no S3 credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are unset and " +
                          path + " cannot be read (" + std::strerror(errno) + ")");
  }
  std::string text(kMaxFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxFileBytes) {
    return make_error(ErrorCode::kInvalidArgument, path + ": larger than 1 MiB, not read");
  }
  return text;
}

}  // namespace

EnvFn process_env() {
  return [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

Result<S3Credentials> parse_s3_credentials_file(std::string_view text, std::string_view profile,
                                                std::string_view file) {
  S3Credentials creds;
  bool found = false;
  bool in_profile = false;
  size_t number = 0;
  std::istringstream lines{std::string(text)};
  for (std::string raw; std::getline(lines, raw);) {
    ++number;
    std::string_view line = trim(raw, " \t\r");
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      if (line.back() != ']') return file_error(file, number, "unterminated section header");
      in_profile = trim(line.substr(1, line.size() - 2)) == profile;
      found = found || in_profile;
      continue;
    }
    if (in_profile) DEPOT_TRY(apply_line(line, number, file, creds));
  }
  std::string at = where(file, profile);
  if (!found) return make_error(ErrorCode::kInvalidArgument, at + ": no such profile");
  if (creds.access_key.empty()) {
    return make_error(ErrorCode::kInvalidArgument, at + ": no aws_access_key_id");
  }
  if (creds.secret_key.empty()) {
    return make_error(ErrorCode::kInvalidArgument, at + ": no aws_secret_access_key");
  }
  creds.source = at;
  return creds;
}

Result<S3Credentials> load_s3_credentials(const EnvFn& env) {
  auto get = [&](const char* name) { return env(name).value_or(""); };
  std::string id = get("AWS_ACCESS_KEY_ID");
  std::string secret = get("AWS_SECRET_ACCESS_KEY");
  if (!id.empty() && !secret.empty()) {
    return S3Credentials{id, secret, get("AWS_SESSION_TOKEN"), "environment"};
  }
  if (!id.empty() || !secret.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      std::string("S3 credentials: ") +
                          (id.empty() ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY") +
                          " is unset while " +
                          (id.empty() ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID") + " is set");
  }
  std::string profile = get("AWS_PROFILE");
  if (profile.empty()) profile = "default";
  std::string file = get("AWS_SHARED_CREDENTIALS_FILE");
  if (file.empty()) {
    std::string home = get("HOME");
    if (home.empty()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "no S3 credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
                        "AWS_SHARED_CREDENTIALS_FILE and HOME are all unset");
    }
    file = home + "/.aws/credentials";
  }
  DEPOT_ASSIGN_OR_RETURN(std::string text, read_small_file(file));
  return parse_s3_credentials_file(text, profile, file);
}

}  // namespace depot

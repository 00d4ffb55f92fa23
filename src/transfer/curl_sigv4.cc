#include "transfer/curl_sigv4.h"

namespace depot {

const SigV4Scope* find_sigv4_scope(const std::vector<SigV4Scope>& scopes, const std::string& url) {
  for (const SigV4Scope& s : scopes) {
    if (url.starts_with(s.url_prefix) &&
        (url.size() == s.url_prefix.size() || url[s.url_prefix.size()] == '/' ||
         s.url_prefix.ends_with('/'))) {
      return &s;
    }
  }
  return nullptr;
}

curl_slist* apply_sigv4(CURL* easy, const SigV4Scope* scope, curl_slist* headers) {
  if (!scope) {
    curl_easy_setopt(easy, CURLOPT_AWS_SIGV4, nullptr);
    curl_easy_setopt(easy, CURLOPT_USERNAME, nullptr);
    curl_easy_setopt(easy, CURLOPT_PASSWORD, nullptr);
    return headers;
  }
  // curl 7.88 signs the payload hash given as x-amz-content-sha256 and sends it; S3 servers
  // refuse a signed request without it. A GET has an empty payload.
  static constexpr const char* kEmptySha256 =
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  std::string how = "aws:amz:" + scope->region + ":s3";
  curl_easy_setopt(easy, CURLOPT_AWS_SIGV4, how.c_str());  // curl copies string options
  curl_easy_setopt(easy, CURLOPT_USERNAME, scope->access_key.c_str());
  curl_easy_setopt(easy, CURLOPT_PASSWORD, scope->secret_key.c_str());
  headers = curl_slist_append(headers, (std::string("x-amz-content-sha256: ") + kEmptySha256).c_str());
  if (!scope->session_token.empty()) {
    headers = curl_slist_append(headers, ("x-amz-security-token: " + scope->session_token).c_str());
  }
  return headers;
}

}  // namespace depot

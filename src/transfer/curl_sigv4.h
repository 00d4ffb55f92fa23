#pragma once
// SigV4 signing of downloader requests to S3 buckets (DownloadOptions::sigv4) with libcurl's
// CURLOPT_AWS_SIGV4. Thread-safe (no shared state).

#include <curl/curl.h>

#include <string>
#include <vector>

#include "transfer/downloader.h"

namespace depot {

// The scope whose prefix `url` lies under (at a '/' boundary), or null.
const SigV4Scope* find_sigv4_scope(const std::vector<SigV4Scope>& scopes, const std::string& url);

// Sets SigV4 signing on `easy` for `scope`, or clears it for a null scope (handles are reused),
// and returns `headers` with the headers signing needs appended (x-amz-content-sha256 of the
// empty payload, x-amz-security-token). Every header in the list is signed.
curl_slist* apply_sigv4(CURL* easy, const SigV4Scope* scope, curl_slist* headers);

}  // namespace depot

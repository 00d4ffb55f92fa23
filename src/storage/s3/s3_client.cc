#include "storage/s3/s3_client.h"

#include <openssl/evp.h>

#include <algorithm>
#include <utility>

#include "core/digest.h"
#include "core/rel_path.h"
#include "core/text.h"
#include "storage/s3/s3_error.h"
#include "storage/s3/s3_http.h"
#include "transfer/http_util.h"

namespace depot {
namespace {

constexpr size_t kDeleteBatch = 1000;  // S3's limit per DeleteObjects request
constexpr int kMaxPartNumber = 10000;

// A canonical query string: parameters sorted by name, values encoded, "name=" when empty.
std::string query(std::vector<std::pair<std::string, std::string>> params) {
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += '&';
    out += name + "=" + aws_uri_encode(value, /*keep_slash=*/false);
  }
  return out;
}

std::string content_md5_base64(std::string_view body) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(body.data(), body.size(), md, &len, EVP_md5(), nullptr);
  unsigned char b64[64];
  int n = EVP_EncodeBlock(b64, md, static_cast<int>(len));
  return std::string(reinterpret_cast<char*>(b64), static_cast<size_t>(std::max(n, 0)));
}

std::span<const std::byte> bytes_of(std::string_view s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

Status check_endpoint(const std::string& endpoint) {
  auto bad = [&](const char* why) {
    return make_error(ErrorCode::kInvalidArgument,
                      "S3 endpoint " + quote_untrusted(endpoint) + ": " + why);
  };
  size_t scheme = endpoint.find("://");
  if (!endpoint.starts_with("http://") && !endpoint.starts_with("https://")) {
    return bad("not an http:// or https:// URL");
  }
  std::string_view rest = std::string_view(endpoint).substr(scheme + 3);
  if (rest.empty()) return bad("no host");
  if (rest.find_first_of("/?#@ ") != std::string_view::npos) {
    return bad("only scheme://host[:port] (no path, query or user)");
  }
  return ok_status();
}

Status check_config(S3Config& c) {
  while (c.endpoint.ends_with('/')) c.endpoint.pop_back();
  DEPOT_TRY(check_endpoint(c.endpoint));
  bool region_ok = !c.region.empty() && std::all_of(c.region.begin(), c.region.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
  });
  if (!region_ok) {
    return make_error(ErrorCode::kInvalidArgument,
                      "S3 region " + quote_untrusted(c.region) + ": only [a-z0-9-]");
  }
  if (c.creds.access_key.empty() || c.creds.secret_key.empty()) {
    return make_error(ErrorCode::kInvalidArgument, c.where.url() + ": no S3 credentials");
  }
  if (c.where.bucket.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "S3 location without a bucket");
  }
  return ok_status();
}

}  // namespace

struct S3Client::Impl {
  S3Config cfg;
  S3Http http;

  explicit Impl(S3Config c) : cfg(std::move(c)), http(cfg) {}

  S3Request request(const char* method, std::string_view key, std::string op) {
    S3Request r;
    r.method = method;
    r.key = key.empty() ? std::string() : cfg.where.object_key(key);
    r.op = std::move(op);
    r.what = cfg.where.url(key);
    return r;
  }

  // Lists at most one key under the prefix; `op` names the request in messages.
  Status probe(std::string op) {
    S3Request r = request("GET", {}, std::move(op));
    r.query = query({{"list-type", "2"}, {"max-keys", "1"}, {"prefix", list_prefix({})}});
    DEPOT_TRY(http.perform(r));
    return ok_status();
  }

  // The prefix that lists everything under `under` (relative to the location's prefix).
  std::string list_prefix(std::string_view under) const {
    while (under.ends_with('/')) under.remove_suffix(1);
    std::string p = cfg.where.object_key(under);
    if (!p.empty()) p += '/';
    return p;
  }

  // `full` relative to the location's prefix; an error when the server answered a key
  // outside it.
  Result<std::string> relative(const std::string& full) const {
    if (cfg.where.prefix.empty()) return full;
    std::string p = cfg.where.prefix + "/";
    if (!full.starts_with(p)) {
      return make_error(ErrorCode::kParse, cfg.where.url() + ": the listing answered key " +
                                               quote_untrusted(full) + " outside the prefix");
    }
    return full.substr(p.size());
  }

  Result<S3Request> put_request(std::string_view key, std::span<const std::byte> body,
                                std::string_view sha256_hex, std::string_view content_type) {
    DEPOT_TRY(check_s3_key(cfg.where, key));
    S3Request r = request("PUT", key, "PUT");
    auto sha = normalize_hex_digest(DigestAlgo::kSha256, sha256_hex);
    if (!sha.ok()) {
      return make_error(ErrorCode::kInvalidArgument,
                        r.what + ": PUT refused: " + sha.error().message);
    }
    r.body = body;
    r.body_sha256 = std::move(sha).value();
    if (!content_type.empty()) r.headers.push_back("Content-Type: " + std::string(content_type));
    return r;
  }
};

S3Client::S3Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
S3Client::~S3Client() = default;

Result<std::unique_ptr<S3Client>> S3Client::open(S3Config config) {
  DEPOT_TRY(check_config(config));
  auto client = std::unique_ptr<S3Client>(new S3Client(std::make_unique<Impl>(std::move(config))));
  DEPOT_TRY(client->impl_->probe("opening the bucket (ListObjectsV2)"));
  return client;
}

Status S3Client::check() { return impl_->probe("checking the bucket (ListObjectsV2)"); }

const S3Location& S3Client::where() const { return impl_->cfg.where; }

std::string S3Client::url(std::string_view key) const { return impl_->cfg.where.url(key); }

Result<std::optional<S3ObjectInfo>> S3Client::head(std::string_view key) {
  DEPOT_TRY(check_s3_key(impl_->cfg.where, key));
  S3Request r = impl_->request("HEAD", key, "HEAD");
  r.accepted = {404};
  DEPOT_ASSIGN_OR_RETURN(S3Response resp, impl_->http.perform(r));
  if (resp.status == 404) return std::optional<S3ObjectInfo>();
  S3ObjectInfo info;
  info.key = std::string(key);
  info.size = resp.content_length < 0 ? 0 : static_cast<uint64_t>(resp.content_length);
  info.etag = resp.etag;
  info.last_modified = parse_http_time(resp.last_modified).value_or(WallTime{});
  info.sha256 = resp.meta_sha256;
  return std::optional<S3ObjectInfo>(std::move(info));
}

Result<S3ObjectInfo> S3Client::get(std::string_view key, ByteSink& out,
                                   std::optional<S3Range> range) {
  DEPOT_TRY(check_s3_key(impl_->cfg.where, key));
  S3Request r = impl_->request("GET", key, "GET");
  r.sink = &out;
  if (range) {
    if (range->length == 0) {
      return make_error(ErrorCode::kInvalidArgument, r.what + ": GET of an empty range");
    }
    r.headers.push_back("Range: bytes=" + std::to_string(range->offset) + "-" +
                        std::to_string(range->offset + range->length - 1));
  }
  DEPOT_ASSIGN_OR_RETURN(S3Response resp, impl_->http.perform(r));
  if (range && resp.status != 206) {
    return make_error(ErrorCode::kHttp, r.what + ": GET of a range answered HTTP " +
                                            std::to_string(resp.status) + ", not 206");
  }
  S3ObjectInfo info;
  info.key = std::string(key);
  info.etag = resp.etag;
  info.last_modified = parse_http_time(resp.last_modified).value_or(WallTime{});
  size_t slash = resp.content_range.rfind('/');
  if (slash != std::string::npos) {
    info.size = parse_u64(std::string_view(resp.content_range).substr(slash + 1)).value_or(0);
  } else {
    info.size =
        resp.content_length < 0 ? out.bytes_written() : static_cast<uint64_t>(resp.content_length);
  }
  return info;
}

Result<std::string> S3Client::put(std::string_view key, std::span<const std::byte> body,
                                  std::string_view sha256_hex, std::string_view content_type) {
  DEPOT_ASSIGN_OR_RETURN(S3Request r, impl_->put_request(key, body, sha256_hex, content_type));
  r.headers.push_back(std::string(kMetaSha256) + ": " + r.body_sha256);
  DEPOT_ASSIGN_OR_RETURN(S3Response resp, impl_->http.perform(r));
  return resp.etag;
}

std::vector<Status> S3Client::put_many(std::span<const S3PutItem> items, size_t parallel) {
  std::vector<Status> out(items.size());
  std::vector<S3Request> requests;
  std::vector<size_t> index;  // requests[i] is items[index[i]]
  for (size_t i = 0; i < items.size(); ++i) {
    const S3PutItem& it = items[i];
    auto r = impl_->put_request(it.key, it.body, it.sha256_hex, it.content_type);
    if (!r.ok()) {
      out[i] = r.error();
      continue;
    }
    r->headers.push_back(std::string(kMetaSha256) + ": " + r->body_sha256);
    requests.push_back(std::move(r).value());
    index.push_back(i);
  }
  auto results = impl_->http.perform_many(requests, parallel);
  for (size_t i = 0; i < results.size(); ++i) {
    if (!results[i].ok()) out[index[i]] = results[i].error();
  }
  return out;
}

Result<std::string> S3Client::create_multipart(std::string_view key, std::string_view content_type,
                                               std::string_view sha256_hex) {
  DEPOT_TRY(check_s3_key(impl_->cfg.where, key));
  S3Request r = impl_->request("POST", key, "CreateMultipartUpload");
  r.query = query({{"uploads", ""}});
  r.idempotent = false;  // a retry could leave an orphan upload behind
  if (!content_type.empty()) r.headers.push_back("Content-Type: " + std::string(content_type));
  if (!sha256_hex.empty()) {
    auto sha = normalize_hex_digest(DigestAlgo::kSha256, sha256_hex);
    if (!sha.ok()) return make_error(ErrorCode::kInvalidArgument, r.what + ": " + sha.error().message);
    r.headers.push_back(std::string(kMetaSha256) + ": " + *sha);
  }
  DEPOT_ASSIGN_OR_RETURN(S3Response resp, impl_->http.perform(r));
  return parse_initiate_multipart(resp.body, r.what);
}

Result<std::string> S3Client::upload_part(std::string_view key, std::string_view upload_id,
                                          int number, std::span<const std::byte> body,
                                          std::string_view sha256_hex) {
  DEPOT_ASSIGN_OR_RETURN(S3Request r, impl_->put_request(key, body, sha256_hex, {}));
  r.op = "UploadPart " + std::to_string(number);
  if (number < 1 || number > kMaxPartNumber) {
    return make_error(ErrorCode::kInvalidArgument,
                      r.what + ": part number " + std::to_string(number) + " outside 1..10000");
  }
  r.query = query({{"partNumber", std::to_string(number)}, {"uploadId", std::string(upload_id)}});
  DEPOT_ASSIGN_OR_RETURN(S3Response resp, impl_->http.perform(r));
  if (resp.etag.empty()) {
    return make_error(ErrorCode::kHttp, r.what + ": " + r.op + ": the answer has no ETag");
  }
  return resp.etag;
}

Result<std::string> S3Client::complete_multipart(std::string_view key, std::string_view upload_id,
                                                 std::span<const S3Part> parts) {
  DEPOT_TRY(check_s3_key(impl_->cfg.where, key));
  S3Request r = impl_->request("POST", key, "CompleteMultipartUpload");
  r.query = query({{"uploadId", std::string(upload_id)}});
  r.idempotent = false;  // a lost answer then a retry would report NoSuchUpload
  std::string body = complete_multipart_xml(parts);
  r.body = bytes_of(body);
  r.headers.push_back("Content-Type: application/xml");
  DEPOT_ASSIGN_OR_RETURN(S3Response resp, impl_->http.perform(r));
  S3ErrorBody err;
  auto etag = parse_complete_multipart(resp.body, r.what, &err);
  if (!etag.ok() && !err.code.empty()) return s3_code_error(r.op, r.what, resp.status, err);
  return etag;
}

Status S3Client::abort_multipart(std::string_view key, std::string_view upload_id) {
  DEPOT_TRY(check_s3_key(impl_->cfg.where, key));
  S3Request r = impl_->request("DELETE", key, "AbortMultipartUpload");
  r.query = query({{"uploadId", std::string(upload_id)}});
  r.accepted = {404};  // aborted or completed already
  DEPOT_TRY(impl_->http.perform(r));
  return ok_status();
}

Status S3Client::list_multipart_uploads(const std::function<Status(const S3Upload&)>& fn) {
  S3UploadsPage page;
  page.truncated = true;
  std::string key_marker, id_marker;
  while (page.truncated) {
    S3Request r = impl_->request("GET", {}, "ListMultipartUploads");
    // No encoding-type=url here: RGW 16.2 then encodes <Key> (but not '/', nor NextKeyMarker)
    // without saying so (no <EncodingType> in the answer). Keys this client writes have no
    // control bytes, so plain XML carries them.
    std::vector<std::pair<std::string, std::string>> params = {{"prefix", impl_->list_prefix({})},
                                                               {"uploads", ""}};
    if (!key_marker.empty()) params.emplace_back("key-marker", key_marker);
    if (!id_marker.empty()) params.emplace_back("upload-id-marker", id_marker);
    r.query = query(std::move(params));
    DEPOT_ASSIGN_OR_RETURN(S3Response resp, impl_->http.perform(r));
    DEPOT_ASSIGN_OR_RETURN(page, parse_list_multipart_uploads(resp.body, r.what));
    for (S3Upload& u : page.uploads) {
      DEPOT_ASSIGN_OR_RETURN(u.key, impl_->relative(u.key));
      DEPOT_TRY(fn(u));
    }
    if (page.truncated && page.next_key_marker == key_marker &&
        page.next_upload_id_marker == id_marker) {
      return make_error(ErrorCode::kParse, r.what + ": ListMultipartUploads does not advance");
    }
    key_marker = page.next_key_marker;
    id_marker = page.next_upload_id_marker;
  }
  return ok_status();
}

Status S3Client::list(const std::function<Status(const S3ObjectInfo&)>& fn,
                      std::string_view under) {
  std::string token;
  while (true) {
    S3Request r = impl_->request("GET", under, "ListObjectsV2");
    r.key.clear();
    std::vector<std::pair<std::string, std::string>> params = {
        {"encoding-type", "url"}, {"list-type", "2"}, {"prefix", impl_->list_prefix(under)}};
    if (!token.empty()) params.emplace_back("continuation-token", token);
    r.query = query(std::move(params));
    DEPOT_ASSIGN_OR_RETURN(S3Response resp, impl_->http.perform(r));
    DEPOT_ASSIGN_OR_RETURN(S3ListPage page, parse_list_objects_v2(resp.body, r.what));
    for (S3ObjectInfo& o : page.objects) {
      DEPOT_ASSIGN_OR_RETURN(o.key, impl_->relative(o.key));
      DEPOT_TRY(fn(o));
    }
    if (!page.truncated) return ok_status();
    if (page.next_token == token) {
      return make_error(ErrorCode::kParse, r.what + ": ListObjectsV2 does not advance");
    }
    token = std::move(page.next_token);
  }
}

Status S3Client::remove(std::string_view key) {
  DEPOT_TRY(check_s3_key(impl_->cfg.where, key));
  S3Request r = impl_->request("DELETE", key, "DELETE");
  r.accepted = {404};
  DEPOT_TRY(impl_->http.perform(r));
  return ok_status();
}

Status S3Client::remove_many(std::span<const std::string> keys) {
  for (const std::string& k : keys) DEPOT_TRY(check_s3_key(impl_->cfg.where, k));
  for (size_t start = 0; start < keys.size(); start += kDeleteBatch) {
    auto batch = keys.subspan(start, std::min(kDeleteBatch, keys.size() - start));
    std::vector<std::string> full;
    full.reserve(batch.size());
    for (const std::string& k : batch) full.push_back(impl_->cfg.where.object_key(k));
    std::string body = delete_objects_xml(full);
    S3Request r = impl_->request("POST", {}, "DeleteObjects");
    r.query = query({{"delete", ""}});
    r.body = bytes_of(body);
    r.headers = {"Content-Type: application/xml", "Content-MD5: " + content_md5_base64(body)};
    DEPOT_ASSIGN_OR_RETURN(S3Response resp, impl_->http.perform(r));
    DEPOT_ASSIGN_OR_RETURN(auto failures, parse_delete_result(resp.body, r.what));
    for (const S3DeleteFailure& f : failures) {
      if (f.error.code == "NoSuchKey") continue;
      auto rel = impl_->relative(f.key);
      return s3_code_error(r.op, url(rel.ok() ? rel.value() : f.key), resp.status, f.error);
    }
  }
  return ok_status();
}

}  // namespace depot

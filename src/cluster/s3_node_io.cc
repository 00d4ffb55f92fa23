// S3Node: reads (HEAD, then a ranged GET streamed to the caller) and uploads (one PUT, or a
// multipart upload completed only after the body's sha256 matched). See s3_node.h.

#include <string>
#include <vector>

#include "cluster/s3_node.h"
#include "core/digest.h"

namespace depot::cluster {

namespace {

// Forwards a GET's body to a BodyWriter. A retry from byte 0 is refused once bytes went out:
// they cannot be taken back (the gateway resumes on another holder instead).
class ForwardSink final : public ByteSink {
 public:
  ForwardSink(const BodyWriter& out, std::string what) : out_(out), what_(std::move(what)) {}

  Status write(std::span<const std::byte> data) override {
    if (!out_(reinterpret_cast<const char*>(data.data()), data.size())) {
      refused_ = true;
      return make_error(ErrorCode::kIo, what_ + ": the reader stopped the transfer after " +
                                            std::to_string(written_) + " bytes");
    }
    written_ += data.size();
    return {};
  }
  Status reset() override {
    if (written_ == 0) return {};
    return make_error(ErrorCode::kNetwork,
                      what_ + ": GET broke off after " + std::to_string(written_) +
                          " bytes were sent on (not retried from byte 0)",
                      true);
  }
  uint64_t bytes_written() const override { return written_; }
  bool refused() const { return refused_; }

 private:
  const BodyWriter& out_;
  std::string what_;
  uint64_t written_ = 0;
  bool refused_ = false;
};

// Fills `buf` with up to `want` bytes of `body`: the bytes read, or -1 when the body aborted.
long read_full(const BodyReader& body, std::string& buf, size_t want) {
  buf.resize(want);
  size_t got = 0;
  while (got < want) {
    long n = body(buf.data() + got, want - got);
    if (n < 0) return -1;
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  buf.resize(got);
  return static_cast<long>(got);
}

std::span<const std::byte> bytes_of(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

// The HTTP-like status a failed S3 request stands for in a NodePutResult.
int put_status(const Error& e) {
  if (e.code == ErrorCode::kDigestMismatch) return 409;
  if (e.code == ErrorCode::kInvalidArgument) return 400;
  return 502;
}

}  // namespace

NodePutResult S3Node::failed(int status, const std::string& message) const {
  NodePutResult r;
  r.failure = NodeFailure{status, "node " + ep_.name + ": " + message};
  return r;
}

NodePutResult S3Node::stored(const std::string& key, uint64_t size, const std::string& sha256,
                             std::string etag) const {
  std::lock_guard lock(mu_);
  set_known_locked(key, Entry{size, std::move(etag), sha256, 0});
  NodePutResult r;
  r.stored = NodeFile{key, size, sha256, newest_};
  return r;
}

NodePutResult S3Node::put(std::string_view path, uint64_t size, std::string_view sha256,
                          const BodyReader& body, std::string_view) const {
  const std::string key(path);
  auto sha = normalize_hex_digest(DigestAlgo::kSha256, sha256);
  if (!sha.ok()) return failed(400, config_.where.url(key) + ": " + sha.error().message);
  // No body byte is taken before the bucket answered: status 0 lets the gateway go elsewhere.
  auto o = open();
  if (!o.ok()) {
    NodePutResult r;
    r.failure = NodeFailure{0, o.error().message};  // names the node already
    return r;
  }
  auto probe = o->client->head(key);
  if (!probe.ok()) {
    const Error& e = probe.error();
    return failed(e.code == ErrorCode::kInvalidArgument ? 400 : 0, e.message);
  }
  inflight_ += size;
  NodePutResult r = size <= opts_.part_size ? put_single(*o->client, key, size, *sha, body)
                                            : put_multipart(*o->client, key, size, *sha, body);
  inflight_ -= size;
  return r;
}

NodePutResult S3Node::put_single(S3Client& c, const std::string& key, uint64_t size,
                                 const std::string& sha256, const BodyReader& body) const {
  const std::string what = c.url(key);
  std::string buf;
  long n = read_full(body, buf, static_cast<size_t>(size));
  if (n < 0) return failed(400, what + ": the body broke off");
  std::string extra;
  if (static_cast<uint64_t>(n) != size || read_full(body, extra, 1) != 0) {
    return failed(400, what + ": the body is not the " + std::to_string(size) + " bytes declared");
  }
  if (sha256_hex(buf) != sha256) {
    return failed(409, what + ": the body does not match its sha256 " + sha256);
  }
  auto etag = c.put(key, bytes_of(buf), sha256);
  if (!etag.ok()) return failed(put_status(etag.error()), etag.error().message);
  return stored(key, size, sha256, std::move(etag).value());
}

NodePutResult S3Node::put_multipart(S3Client& c, const std::string& key, uint64_t size,
                                    const std::string& sha256, const BodyReader& body) const {
  const std::string what = c.url(key);
  // The object only appears at complete, and only after the digest below matched.
  auto id = c.create_multipart(key, {}, sha256);
  if (!id.ok()) return failed(0, id.error().message);  // no body byte taken yet
  auto give_up = [&](int status, const std::string& message) {
    (void)c.abort_multipart(key, *id);
    return failed(status, message);
  };
  Hasher hasher(digest_bit(DigestAlgo::kSha256));
  std::vector<S3Part> parts;
  uint64_t total = 0;
  std::string buf;
  while (total < size) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(opts_.part_size, size - total));
    long n = read_full(body, buf, want);
    if (n < 0) return give_up(400, what + ": the body broke off");
    if (n == 0) break;
    hasher.update(std::string_view(buf));
    total += static_cast<uint64_t>(n);
    const int number = static_cast<int>(parts.size()) + 1;
    auto etag = c.upload_part(key, *id, number, bytes_of(buf), sha256_hex(buf));
    if (!etag.ok()) return give_up(put_status(etag.error()), etag.error().message);
    parts.push_back(S3Part{number, std::move(etag).value()});
  }
  std::string extra;
  if (total != size || read_full(body, extra, 1) != 0) {
    return give_up(400, what + ": the body is not the " + std::to_string(size) + " bytes declared");
  }
  if (hasher.finish().sha256 != sha256) {
    return give_up(409, what + ": the body does not match its sha256 " + sha256);
  }
  auto done = c.complete_multipart(key, *id, parts);
  if (!done.ok()) return give_up(put_status(done.error()), done.error().message);
  return stored(key, size, sha256, std::move(done).value());
}

Result<uint64_t> S3Node::get(std::string_view path, uint64_t offset, std::optional<uint64_t> end,
                             const std::function<void(uint64_t, long)>& on_start,
                             const BodyWriter& sink, std::string_view) const {
  DEPOT_ASSIGN_OR_RETURN(Opened o, open());
  S3Client& c = *o.client;
  const std::string key(path);
  auto h = c.head(key);
  if (!h.ok()) return named(h.error());
  if (!*h || (*h)->sha256.empty()) {
    return make_error(ErrorCode::kNotFound, "node " + ep_.name + ": " + c.url(key) + ": not held");
  }
  const uint64_t size = (*h)->size;
  const uint64_t stop = std::min(end.value_or(size), size);
  if ((end && *end <= offset) || offset > size) {
    return make_error(ErrorCode::kInvalidArgument,
                      "node " + ep_.name + ": " + c.url(key) + ": no bytes [" +
                          std::to_string(offset) + ", " + std::to_string(stop) + ") in " +
                          std::to_string(size));
  }
  if (on_start) on_start(size, offset > 0 || end ? 206 : 200);
  if (offset == stop) return uint64_t{0};
  ForwardSink out(sink, "node " + ep_.name + ": " + c.url(key));
  std::optional<S3Range> range;
  if (offset > 0 || stop < size) range = S3Range{offset, stop - offset};
  auto got = c.get(key, out, range);
  if (!got.ok()) return out.refused() ? got.error() : named(got.error());
  if (got->size != size) {
    return make_error(ErrorCode::kSizeMismatch, "node " + ep_.name + ": " + c.url(key) +
                                                    ": replaced while read (" +
                                                    std::to_string(got->size) + " bytes, not " +
                                                    std::to_string(size) + ")");
  }
  if (out.bytes_written() != stop - offset) {
    return make_error(ErrorCode::kNetwork,
                      "node " + ep_.name + ": " + c.url(key) + ": body ended after " +
                          std::to_string(out.bytes_written()) + " of " +
                          std::to_string(stop - offset) + " bytes",
                      true);
  }
  return out.bytes_written();
}

}  // namespace depot::cluster

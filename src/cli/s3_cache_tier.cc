#include "cli/s3_cache_tier.h"

#include "core/digest.h"
#include "storage/s3/s3_target.h"
#include "transfer/http_util.h"

namespace depot {
namespace {

class S3CacheTier final : public CacheTier {
 public:
  // `target` writes to the bucket of `bucket`; S3Target calls may overlap (s3_target.h).
  S3CacheTier(S3Bucket bucket, std::unique_ptr<Target> target)
      : bucket_(std::move(bucket)), target_(std::move(target)) {}

  std::string url(std::string_view key) const override {
    return bucket_.url + "/" + aws_uri_encode(key, /*keep_slash=*/true);
  }
  std::string describe(std::string_view key) const override { return bucket_.client->url(key); }
  void configure(DownloadOptions& options) const override {
    options.sigv4.push_back(bucket_.scope);
  }

  Status put(std::string_view key, ByteSource& in, uint64_t size,
             std::string_view sha256) override {
    DEPOT_ASSIGN_OR_RETURN(RelPath path, RelPath::parse(std::string(key)));
    WriteHints hints;
    hints.sha256 = std::string(sha256);
    hints.size = size;
    DEPOT_ASSIGN_OR_RETURN(auto txn, target_->begin_write(path, hints));
    Hasher hasher(digest_bit(DigestAlgo::kSha256));
    uint64_t total = 0;
    DEPOT_TRY(for_each_chunk(in, [&](std::string_view chunk) {
      hasher.update(chunk);
      total += chunk.size();
      return txn->write(std::as_bytes(std::span(chunk.data(), chunk.size())));
    }));
    // A multipart upload is completed only with verified bytes (WriteHints::sha256).
    if (total != size) {
      return make_error(ErrorCode::kSizeMismatch, describe(key) + ": the local copy has " +
                                                      std::to_string(total) + " bytes, not " +
                                                      std::to_string(size));
    }
    Digests expected;
    expected.sha256 = std::string(sha256);
    DEPOT_TRY(expected.verify(hasher.finish(), describe(key)));
    DEPOT_TRY(txn->close());
    std::vector<std::unique_ptr<WriteTxn>> txns;
    txns.push_back(std::move(txn));
    return target_->commit(txns);
  }

 private:
  S3Bucket bucket_;
  std::unique_ptr<Target> target_;
};

}  // namespace

Result<std::unique_ptr<CacheTier>> open_s3_cache_tier(const std::string& url,
                                                      const TargetArgs& args) {
  DEPOT_ASSIGN_OR_RETURN(S3Bucket bucket, open_s3_bucket(url, args));
  S3TargetOptions opts;
  opts.spool_dir = bucket.state_dir / "tmp" / "tier-spool";  // unused: puts are not read back
  auto client = bucket.client;
  DEPOT_ASSIGN_OR_RETURN(auto target, open_s3_target(std::move(client), std::move(opts)));
  return std::unique_ptr<CacheTier>(std::make_unique<S3CacheTier>(std::move(bucket), std::move(target)));
}

}  // namespace depot

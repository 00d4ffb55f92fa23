#pragma once
// S3Node: an S3 bucket (bucket/prefix) as a cluster node, over S3Client. A path is the object
// key under the prefix; each object carries its sha256 as x-amz-meta-sha256 (as S3Target
// writes it), and objects without it are not reported (their content cannot be vouched for).
//
// - status: one ListObjectsV2 of at most one key (a health check). The client is opened on
//   first use, so a bucket down when the gateway starts is a node that is down, not refused.
//   A bucket has no disk to measure: with S3NodeOptions::capacity 0 it reports capacity 0 and
//   kUnboundedFree bytes free (placement then weighs it as a node of that size); with a
//   capacity, free = capacity - used. used/files are what the last listing and this node's own
//   puts and removes found.
// - inventory: a bucket has no change feed. The node keeps one in memory: its own puts and
//   removes, and the differences each re-listing of the prefix (at most every relist_interval)
//   finds. A listed key not yet known, or whose size or ETag changed, costs one HEAD (for its
//   sha256); known keys, and keys without depot's sha256 whose ETag did not change, cost
//   nothing. The feed and the key maps stay in memory (about 100 bytes per key and change). Sequence numbers start above the wall-clock microseconds
//   at construction, so a cursor of an earlier process (or another bucket node) is answered as
//   "recreated" (ChangePage::last below it) and the gateway reads the whole feed again.
// - get: a HEAD (the full size for on_start, before the first byte), then a ranged GET. A GET
//   broken after bytes reached the sink is not retried here (the gateway resumes on another
//   holder).
// - put: a HEAD of the key first, so an unreachable bucket fails before any body byte is
//   taken (status 0: the gateway may place the copy elsewhere). Bodies up to part_size are
//   buffered, hashed and sent as one PUT declaring the sha256 (the server verifies it too).
//   Larger ones go as a multipart upload of part_size parts (each declaring its own sha256),
//   completed only when the whole body's sha256 matches; aborted otherwise. One part_size
//   buffer per put in progress.
// - file_url: "" (clients are never redirected to the bucket).
// Failures name the node and the s3:// URL. Thread-safe.

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "cluster/node_backend.h"
#include "storage/s3/s3_client.h"

namespace depot::cluster {

// Free bytes a bucket without a configured capacity reports: 1 TiB.
inline constexpr uint64_t kUnboundedFree = uint64_t{1} << 40;

struct S3NodeOptions {
  uint64_t capacity = 0;  // 0: unbounded (see kUnboundedFree)
  std::chrono::milliseconds relist_interval{30000};
  uint64_t part_size = 8 << 20;  // single PUT up to this; multipart parts of this size above
  int attempts = 2;              // tries per S3 request (the gateway fails over itself)
};

class S3Node : public NodeBackend {
 public:
  // `config` locates the bucket and signs; its timeouts and retries are set from `timeouts`
  // and `options`. Does no I/O.
  S3Node(NodeEndpoint endpoint, S3Config config, S3NodeOptions options = {},
         NodeTimeouts timeouts = {});
  ~S3Node() override;

  const NodeEndpoint& endpoint() const override { return ep_; }
  Result<NodeStatus> status(std::string_view via = {}) const override;
  Result<ChangePage> inventory(int64_t since, size_t limit) const override;
  Result<std::optional<NodeFile>> head(std::string_view path,
                                       std::string_view via = {}) const override;
  Result<bool> remove(std::string_view path, std::string_view via = {}) const override;
  NodePutResult put(std::string_view path, uint64_t size, std::string_view sha256,
                    const BodyReader& body, std::string_view via = {}) const override;
  Result<uint64_t> get(std::string_view path, uint64_t offset, std::optional<uint64_t> end,
                       const std::function<void(uint64_t file_size, long status)>& on_start,
                       const BodyWriter& sink, std::string_view via = {}) const override;
  std::string file_url(std::string_view) const override { return ""; }

 private:
  struct Entry {
    uint64_t size = 0;
    std::string etag;
    std::string sha256;
    int64_t seq = 0;
  };
  struct Opened {
    std::shared_ptr<S3Client> client;
    bool fresh = false;  // just opened (open() checked the bucket already)
  };

  Result<Opened> open() const;
  Error named(const Error& e) const;  // "node NAME: " + e
  // Records a stored or removed key in the feed; mu_ held.
  void set_known_locked(const std::string& key, Entry e) const;
  void drop_known_locked(const std::string& key) const;
  Status relist_if_due() const;
  Status relist(S3Client& client) const;
  NodePutResult put_single(S3Client& c, const std::string& key, uint64_t size,
                           const std::string& sha256, const BodyReader& body) const;
  NodePutResult put_multipart(S3Client& c, const std::string& key, uint64_t size,
                              const std::string& sha256, const BodyReader& body) const;
  NodePutResult stored(const std::string& key, uint64_t size, const std::string& sha256,
                       std::string etag) const;
  NodePutResult failed(int status, const std::string& message) const;

  const NodeEndpoint ep_;
  const S3Config config_;
  const S3NodeOptions opts_;

  mutable std::mutex open_mu_;  // guards client_
  mutable std::shared_ptr<S3Client> client_;

  mutable std::mutex list_mu_;  // one re-listing at a time
  mutable std::mutex mu_;       // guards the members below
  mutable std::map<std::string, Entry> known_;
  // Listed keys without depot's sha256, by ETag: not HEADed again until their ETag changes.
  mutable std::map<std::string, std::string> foreign_;
  mutable std::deque<NodeChange> feed_;  // seqs base_+1 .. newest_
  const int64_t base_;
  mutable int64_t newest_;
  mutable uint64_t used_ = 0;
  mutable std::optional<std::chrono::steady_clock::time_point> listed_at_;
  mutable bool relisting_ = false;
  mutable std::set<std::string> touched_;  // keys put or removed during a re-listing
  mutable std::atomic<uint64_t> inflight_{0};
};

}  // namespace depot::cluster

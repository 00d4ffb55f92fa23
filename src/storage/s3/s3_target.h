#pragma once
// The object-storage Target: a mirror kept as objects under s3://bucket/prefix.
//
// Consistency: an object appears only when its transaction commits. A small file is buffered
// in memory and stored at commit by one PUT declaring its sha256 (the server refuses other
// bytes). A file growing past `part_size` goes up in parts while it is written (each part
// declaring its own sha256, at most one part in memory per transaction); CompleteMultipartUpload
// is sent only at commit, after the caller verified the whole. A run killed at any moment
// therefore leaves only unfinished multipart uploads behind, which clear_debris() aborts.
// Transactions begun with WriteHints::readable are spooled to a local file (read back before
// commit, then uploaded from it). open_read() fetches the object into an unlinked local file.
//
// Errors: a failure of the bucket (unreachable, refused, full, a bad answer) is kIo, as a
// FsTarget's disk failure, with the client's message and transient flag; a missing object
// is kNotFound.
//
// Thread-safety: stronger than Target's. An S3Target keeps no state but the thread-safe client,
// so its calls may overlap; each WriteTxn is used by one thread at a time.

#include <cstddef>
#include <filesystem>
#include <memory>

#include "storage/s3/s3_client.h"
#include "storage/target.h"

namespace depot {

struct S3TargetOptions {
  // A private local directory for spooled transactions and reads (emptied by clear_debris()).
  std::filesystem::path spool_dir;
  // Files larger than this are uploaded in parts of this size (S3: at least 5 MiB).
  size_t part_size = 16u << 20;
  // PUTs in flight at once while a batch commits.
  size_t parallel = 32;
};

Result<std::unique_ptr<Target>> open_s3_target(std::shared_ptr<S3Client> client,
                                               S3TargetOptions options);

}  // namespace depot

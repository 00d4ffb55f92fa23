#pragma once
// Where a mirror is written: a directory, s3://bucket/prefix with its endpoint, region and a
// local state directory, or a cluster gateway (cluster+http://host:port/prefix). Shared by the commands that open a Target.
// Not thread-safe.

#include <filesystem>
#include <memory>
#include <string>

#include "core/result.h"
#include "storage/s3/s3_client.h"
#include "storage/target.h"
#include "transfer/downloader.h"

namespace CLI {
class App;
}

namespace depot {

struct TargetArgs {
  std::string s3_endpoint;
  std::string s3_region = "us-east-1";
  std::string state_dir;  // "" = the default for the destination
  bool rebuild_state = false;
};

// Adds --s3-endpoint, --s3-region, --state and --rebuild-state.
void add_target_options(CLI::App& cmd, TargetArgs& args);
// Adds --s3-endpoint, --s3-region and --state.
void add_s3_options(CLI::App& cmd, TargetArgs& args);

struct OpenedTarget {
  std::unique_ptr<Target> target;
  std::filesystem::path state_dir;  // the run's private local directory
  // Files waiting for their commit batch are held in memory (S3), not in temporary files.
  bool pending_in_memory = false;
};

bool is_s3_url(const std::string& dest);

// Opens `dest`: a directory (state in dest/.depot unless --state), an s3:// URL (credentials
// from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the AWS profile; the bucket is listed once, so
// a missing bucket, bad credentials or an unreachable endpoint fail here, naming the bucket), or
// a cluster+http(s)://host:port/prefix URL of a cluster gateway (the write token from
// DEPOT_TOKEN; the gateway's status is read once, so an unreachable one fails here).
// Usage errors are kInvalidArgument; storage failures keep their codes.
Result<OpenedTarget> open_target(const std::string& dest, const TargetArgs& args);

// An s3:// location, opened: its client, its URL for downloads and how they are signed.
struct S3Bucket {
  std::shared_ptr<S3Client> client;
  std::string url;   // path-style URL of bucket/prefix, no trailing slash
  SigV4Scope scope;  // signs requests below `url`
  std::filesystem::path state_dir;  // --state, else default_s3_state_dir(dest)
};

// The S3Client configuration of `dest` (an s3:// URL) with --s3-endpoint and --s3-region of
// `args` and credentials from the environment or AWS profile (load_s3_credentials). No I/O but
// reading the credentials file.
Result<S3Config> s3_config(const std::string& dest, const TargetArgs& args);

// Opens `dest` (an s3:// URL) and lists it once, as open_target does.
Result<S3Bucket> open_s3_bucket(const std::string& dest, const TargetArgs& args);

// A bucket served through the serve cache: the bucket is the cache's upstream (requests signed
// with SigV4), the served tree an empty local directory.
struct S3Origin {
  std::filesystem::path root;       // empty local directory standing for the served tree
  std::filesystem::path cache_dir;  // default cache directory
  std::string url;                  // path-style URL of bucket/prefix, no trailing slash
  SigV4Scope scope;
};

// Opens `dest` (open_s3_bucket) and lays out the local directories under its state directory.
Result<S3Origin> open_s3_origin(const std::string& dest, const TargetArgs& args);

// The default state directory of an s3:// destination: $XDG_STATE_HOME/depot/s3/<name> (else
// ~/.local/state/...), <name> made of the bucket, the prefix and a hash of the whole URL.
std::filesystem::path default_s3_state_dir(const std::string& url);
// The same for a cluster+http(s):// destination: $XDG_STATE_HOME/depot/cluster/<name>.
std::filesystem::path default_cluster_state_dir(const std::string& url);

}  // namespace depot

#include "cli/target_options.h"

#include <CLI/CLI.hpp>
#include <cstdlib>

#include "core/digest.h"
#include "storage/cluster/cluster_target.h"
#include "storage/fs/fs_target.h"
#include "storage/s3/s3_client.h"
#include "storage/s3/s3_target.h"
#include "transfer/http_util.h"

namespace depot {

void add_target_options(CLI::App& cmd, TargetArgs& args) {
  add_s3_options(cmd, args);
  cmd.add_flag("--rebuild-state", args.rebuild_state,
               "Recreate the state database from a listing of the destination (files already "
               "there are verified, not downloaded again)");
}

void add_s3_options(CLI::App& cmd, TargetArgs& args) {
  cmd.add_option("--s3-endpoint", args.s3_endpoint,
                 "S3 endpoint URL (http(s)://host[:port]) for an s3://bucket/prefix destination");
  cmd.add_option("--s3-region", args.s3_region, "S3 region for request signing")
      ->capture_default_str();
  cmd.add_option("--state", args.state_dir,
                 "Local state directory (run lock, state.db, scratch); default: <dir>/.depot, or "
                 "for s3:// and cluster+http:// under $XDG_STATE_HOME/depot/{s3,cluster}/");
}

bool is_s3_url(const std::string& dest) { return dest.rfind("s3://", 0) == 0; }

namespace {

// $XDG_STATE_HOME/depot/<kind>/<name> (else ~/.local/state/...), <name> made of `rest` (the URL
// after its scheme) and a hash of the whole URL.
std::filesystem::path default_state_dir(const std::string& kind, const std::string& url,
                                        const std::string& rest) {
  std::filesystem::path base;
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg != nullptr && *xdg == '/') {
    base = xdg;
  } else if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    base = std::filesystem::path(home) / ".local" / "state";
  } else {
    base = "/var/tmp";
  }
  std::string name;
  for (char c : rest) name += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.') ? c : '_';
  return base / "depot" / kind / (name.substr(0, 80) + "-" + sha256_hex(url).substr(0, 12));
}

}  // namespace

std::filesystem::path default_s3_state_dir(const std::string& url) {
  return default_state_dir("s3", url, url.substr(5));
}

std::filesystem::path default_cluster_state_dir(const std::string& url) {
  return default_state_dir("cluster", url, url.substr(url.find("://") + 3));
}

Result<S3Config> s3_config(const std::string& dest, const TargetArgs& args) {
  if (args.s3_endpoint.empty()) {
    return make_error(ErrorCode::kInvalidArgument, dest + ": --s3-endpoint is required for an s3:// destination");
  }
  S3Config config;
  config.endpoint = args.s3_endpoint;
  while (config.endpoint.ends_with('/')) config.endpoint.pop_back();
  config.region = args.s3_region;
  DEPOT_ASSIGN_OR_RETURN(config.where, parse_s3_url(dest));
  DEPOT_ASSIGN_OR_RETURN(config.creds, load_s3_credentials(process_env()));
  return config;
}

Result<S3Bucket> open_s3_bucket(const std::string& dest, const TargetArgs& args) {
  DEPOT_ASSIGN_OR_RETURN(S3Config config, s3_config(dest, args));
  S3Bucket out;
  out.url = config.endpoint + "/" + aws_uri_encode(config.where.bucket, /*keep_slash=*/false);
  if (!config.where.prefix.empty()) out.url += "/" + aws_uri_encode(config.where.prefix, /*keep_slash=*/true);
  out.scope = SigV4Scope{out.url, config.region, config.creds.access_key,
                         config.creds.secret_key, config.creds.session_token};
  DEPOT_ASSIGN_OR_RETURN(out.client, S3Client::open(std::move(config)));
  out.state_dir = args.state_dir.empty() ? default_s3_state_dir(dest) : std::filesystem::path(args.state_dir);
  return out;
}

Result<S3Origin> open_s3_origin(const std::string& dest, const TargetArgs& args) {
  DEPOT_ASSIGN_OR_RETURN(S3Bucket bucket, open_s3_bucket(dest, args));
  S3Origin out;
  out.url = bucket.url;
  out.scope = bucket.scope;
  out.root = bucket.state_dir / "serve-root";
  out.cache_dir = bucket.state_dir / "serve-cache";
  std::error_code ec;
  std::filesystem::create_directories(out.root, ec);
  if (ec) return make_error(ErrorCode::kIo, out.root.string() + ": " + ec.message());
  return out;
}

namespace {

Result<OpenedTarget> open_s3(const std::string& dest, const TargetArgs& args) {
  DEPOT_ASSIGN_OR_RETURN(S3Bucket bucket, open_s3_bucket(dest, args));
  OpenedTarget out;
  out.state_dir = bucket.state_dir;
  out.pending_in_memory = true;
  S3TargetOptions opts;
  opts.spool_dir = out.state_dir / "tmp" / "spool";
  DEPOT_ASSIGN_OR_RETURN(out.target, open_s3_target(std::move(bucket.client), std::move(opts)));
  return out;
}

Result<OpenedTarget> open_cluster(const std::string& dest, const TargetArgs& args) {
  DEPOT_ASSIGN_OR_RETURN(GatewayEndpoint ep, parse_cluster_url(dest));
  if (const char* token = std::getenv("DEPOT_TOKEN"); token != nullptr) ep.token = token;
  {
    GatewayClient probe(ep);
    DEPOT_TRY(probe.check());
  }
  OpenedTarget out;
  out.state_dir = args.state_dir.empty() ? default_cluster_state_dir(dest) : std::filesystem::path(args.state_dir);
  ClusterTargetOptions opts;
  opts.gateway = std::move(ep);
  opts.spool_dir = out.state_dir / "tmp" / "spool";
  DEPOT_ASSIGN_OR_RETURN(out.target, open_cluster_target(std::move(opts)));
  return out;
}

}  // namespace

Result<OpenedTarget> open_target(const std::string& dest, const TargetArgs& args) {
  if (is_s3_url(dest)) return open_s3(dest, args);
  if (!args.s3_endpoint.empty()) {
    return make_error(ErrorCode::kInvalidArgument, dest + ": --s3-endpoint needs an s3://bucket/prefix destination");
  }
  if (is_cluster_url(dest)) return open_cluster(dest, args);
  OpenedTarget out;
  out.state_dir = args.state_dir.empty() ? std::filesystem::path(dest) / ".depot" : std::filesystem::path(args.state_dir);
  DEPOT_ASSIGN_OR_RETURN(out.target, open_fs_target(dest));
  return out;
}

}  // namespace depot

#pragma once
// SiteConfig: a site's depot.toml (docs/site.md) — top-level settings, one [[mirror]] table per
// scheduled job, the server's [serve] table and [[upstream]] tables. Registry options of a job
// use the command-line flag names without "--" ("dist", "crates-from", "with-deps"; '_' may
// stand for '-'), taken from the registry descriptors. Loading checks everything it can without
// I/O on the mirrors (it resolves the symlinks of their directories): unknown keys, wrong types,
// bad schedules, two jobs on one directory, a job served at the server's own paths, and a
// registry option the registry does not have; every problem is reported as
// "FILE:LINE: KEY: what is wrong", one per line, by line. Plain data: immutable once loaded.

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "serve/cache_service.h"
#include "serve/http_server.h"
#include "site/schedule.h"
#include "sources/source.h"

namespace depot::site {

// The `depot mirror` settings of a job that are not the registry's.
struct EngineSettings {
  int concurrency = 0;  // 0: self-scaling
  int max_concurrency = 256;
  int threads = 2;
  int file_retries = 4;
  double connect_timeout = 10;  // seconds
  double stall_timeout = 30;    // seconds
  double index_grace_hours = 24;
  double delete_limit = 0.5;
  bool no_delete = false;
  // Removes stale files beyond delete_limit and accepts an upstream root older than the
  // mirrored one: `depot mirror --force`, or one run started by `depot ctl start --force`;
  // never a depot.toml key.
  bool force = false;
  std::string s3_endpoint, s3_region = "us-east-1";
  std::string state_dir;  // "" = the destination's default
};

struct JobConfig {
  std::string name;
  std::string registry;
  std::string upstream;
  // Where the job writes: an absolute directory (a relative `dir` is below data_root; none is
  // data_root/NAME), or an s3:// or cluster+http(s):// destination as written.
  std::string dest;
  bool served = false;  // dest is a directory below data_root, so the server serves it
  std::string url_path;  // when served: dest relative to data_root with a trailing '/' ("debian/")
  Schedule schedule;
  SourceOptions source;  // upstream and the registry's options
  EngineSettings engine;
  int retry = 2;  // re-runs of a failed run, with backoff, before the next scheduled time
  std::chrono::seconds timeout{0};  // a run longer than this is cancelled; 0: none
  std::vector<std::string> exec_on_success, exec_on_failure;  // each run by /bin/sh -c
  bool enabled = true;
  // How the mirror's size is reported (status JSON, metrics, hooks): "index" (what the
  // upstream state declares, no I/O), "disk" (files under dest on local disk, .depot* excluded,
  // counted after each successful run) or "off".
  std::string size = "index";
  int line = 0;  // line of its [[mirror]] header
};

// [publish]: the publish daemon (`depot daemon`) hosted in the same process; its control API
// shares the site's control socket, and its repositories are published into data_root/PREFIX
// so the site's server serves them.
struct PublishConfig {
  bool enabled = false;
  std::filesystem::path root;  // pool/, depot.db, jobs.db; default state_dir/publish
  std::string prefix = "hosted";
  std::filesystem::path public_dir;  // data_root/prefix
  int workers = 2;
  std::string signing_key, gnupg_home;
  std::chrono::seconds grace{3600};
  std::vector<std::string> architectures;
  bool no_xz = false;
  int xz_preset = 6;
  int gzip_level = 9;
  int pdiff_generations = 14;  // Packages.diff/ links per index; 0: none
  std::string incoming, incoming_repo;  // a directory whose new .debs go to that repository
};

struct SiteConfig {
  std::filesystem::path file;
  std::string listen;  // HOST:PORT; "" when the site serves nothing
  std::filesystem::path data_root;
  std::filesystem::path state_dir;  // history.db; default data_root/.depot-site
  std::filesystem::path log_dir;    // per-job logs; default state_dir/logs
  std::string control_socket;       // default state_dir/control.sock
  std::string log_format = "text", log_level = "info";
  int max_concurrent = 2;
  int retry = 2;
  std::chrono::seconds timeout{0};
  std::chrono::seconds jitter{0};  // a job starts up to this much after its time; 0: none
  int history_days = 90;
  int log_keep = 10;      // rotated logs kept per job
  std::string site_name;  // trace files name the mirror with it; default the host name
  std::string timezone;   // cron schedules' zone ("Europe/Berlin"), per job too; "": UTC
  std::vector<JobConfig> jobs;
  ServiceOptions serve;  // [serve] and [[upstream]]; root = data_root; autoindex by default
  ServerOptions server;  // listen and the connection settings of [serve]
  PublishConfig publish;
  // Settings a running process keeps until it restarts (listen, data_root, state_dir, log_dir,
  // control_socket, log_format, log_level, site_name, log_keep, [serve], [[upstream]],
  // [publish]), each as written, for reload to tell what changed.
  std::map<std::string, std::string> process_settings;

  const JobConfig* find(std::string_view name) const;
};

// Parses `text` as the contents of `file` (named in errors). kInvalidArgument lists every
// problem found.
Result<SiteConfig> parse_site_config(std::string_view text, const std::filesystem::path& file);
// Reads and parses `file`.
Result<SiteConfig> load_site_config(const std::filesystem::path& file);

// The control socket `file` names (control_socket, else state_dir's or data_root's default),
// read from the top-level settings alone: a file with problems elsewhere still names it, so
// `depot ctl` reaches a running site whose file is being edited. Errors: unreadable or not TOML.
Result<std::string> locate_control_socket(const std::filesystem::path& file);

// 1 to 64 of A-Z a-z 0-9 . _ -, not starting with '.' (kJobNameRule says it).
bool valid_job_name(std::string_view name);
inline constexpr const char* kJobNameRule = "1 to 64 of A-Z a-z 0-9 . _ -, not starting with '.'";

}  // namespace depot::site

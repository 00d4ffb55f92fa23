#pragma once
// Daemon: the publishing service behind `depot daemon`. It owns the pool store, the job queue
// and the publisher settings, and turns control API requests into jobs.
//
// Every state change is a job on the mutation lane (one at a time, in order, persisted, re-run
// after a crash: each handler is idempotent), ending with a publication of the repositories it
// changed. Reads are answered from a second connection to the database and never wait for a
// running job. handle() is thread-safe and never blocks on a job: a request that waits for its
// job is answered from the job queue's completion callback.
//
// Every field of a body and every query parameter is checked against its type; a wrong one,
// an unknown one or a body that is not one JSON object (within BodyLimits) is a 400 naming it.
// Messages quote at most a short, escaped prefix of client text (quote_input).
//
// Routes (JSON bodies; POST requests wait for their job unless "wait": false is given; R is a
// repository name):
//   GET  /status                              daemon and queue summary
//   GET  /repos                               repository names
//   POST /repos                {"name", "bases"?: [{"url", "dist", "components": []}]}  create
//   GET  /repos/R                             R's name, bases and architectures
//   POST /repos/R/bases        {"bases": []}  replace R's bases
//   GET  /repos/R/packages                    packages of R
//   POST /repos/R/import       {"files": [], "allow_unresolved"?}
//                                             import .debs into R and publish R
//   POST /repos/R/publish                     publish R again
//   POST /repos/R/pull         {"from", "dry_run"?}  pull newer versions from another repository
//   POST /repos/R/promote      {"from", "packages": [], "with_deps", "allow_unresolved"?,
//                               "dry_run"?}
// Relations (import into a repository with bases, promote --with-deps) must resolve against
// the source, the destination and its bases (BaseIndexCache), else the job fails listing every
// unresolved one; "allow_unresolved" turns them into warnings in the result. "dry_run" runs a
// job of kind pull_dry_run/promote_dry_run that reports added, replaced and removed packages
// and changes nothing (no membership change, no publication).
//   GET  /repos/R/snapshots                   snapshots of R
//   POST /repos/R/snapshots    {"name"?}      take a snapshot
//   POST /repos/R/rollback     {"snapshot"}   republish R as a snapshot had it
//   POST /gc                   {"dry_run"?}   remove unreferenced pool files, repair drift
//   GET  /jobs?state=S&limit=N                jobs, newest first (limit: default 100, 0 = all)
//   GET  /jobs/ID                             one job
// Index deltas (pdiffs): after a publication of R commits, a "pdiff" job on the worker lane
// records its Packages files in the PdiffStore (<root>/pdiff/) and builds the missing links; when
// the generation's Packages.diff/ differ from what is due (PdiffStore::publication_due) it
// queues "publish_pdiffs" (mutation lane), which publishes R again
// (same packages) with Packages.diff/ beside each Packages whose Index is current. Every
// publication includes those still current. Both stop (done, "superseded") when a newer
// publication of R landed meanwhile.
// A waiting POST is answered 200 (job done), 422 (job failed) or 202 (the job queue stopped
// first); with "wait": false, 202 once the job is queued.

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/logger.h"
#include "core/result.h"
#include "core/work_pool.h"
#include "pool/base_index.h"
#include "pool/chunk_cache.h"
#include "pool/control_api.h"
#include "pool/job_queue.h"
#include "pool/pdiff.h"
#include "pool/pool_store.h"
#include "pool/publisher.h"

namespace depot::pool {

struct DaemonOptions {
  std::filesystem::path root;  // pool/, depot.db, jobs.db, public/, cache/
  // Lanes for slow work (reading and hashing imported files, compressing index chunks, hashing
  // indexes): the running job's thread plus workers - 1 pool threads; also the job queue's
  // worker-lane threads.
  unsigned workers = 2;
  // Publication settings; public_dir defaults to <root>/public. index.pool and index.cache are
  // set by the daemon (its work pool; <root>/cache/index-chunks).
  PublishSettings publish;
  std::chrono::seconds chunk_cache_ttl{7 * 24 * 3600};  // unused chunks are pruned after this
  std::chrono::seconds job_history{30 * 24 * 3600};     // finished jobs are kept this long
  unsigned pdiff_generations = 14;  // links a Packages.diff/Index lists at most; 0: no pdiffs
};

class Daemon {
 public:
  static Result<std::unique_ptr<Daemon>> open(const DaemonOptions& options, Logger& logger);
  ~Daemon();

  Status start();  // starts the job lanes: jobs queued before a crash run now
  void stop();     // running jobs finish; queued ones stay queued

  // Answers `request` through `reply`, at once or when its job ends.
  void handle(const ControlRequest& request, ControlReply reply);

  // Queues an import of `files` into `repo` (the incoming directory uses it).
  Result<int64_t> submit_import(const std::string& repo, const std::vector<std::string>& files);
  JobQueue& jobs() { return *jobs_; }

 private:
  Daemon(const DaemonOptions& options, Logger& logger);
  // What a request gets: an answer now, or the answer of job `wait_for` once it ends.
  struct Routed {
    ControlResponse now;
    int64_t wait_for = 0;
  };
  Status register_handlers();
  Result<Routed> route(const ControlRequest& request);  // daemon_routes.cc
  Result<Routed> route_jobs(const ControlRequest& request, const std::vector<std::string>& path);
  Result<Routed> route_repo(const ControlRequest& request, const std::vector<std::string>& path);
  Result<Routed> submit(const std::string& kind, const std::string& args, bool wait);
  // Under store_mu_. With `pdiffs`, queues the pdiff job of the new generation.
  Result<PublishReport> publish(const std::string& repo, bool pdiffs = true);
  Status register_pdiff_handlers();
  void prune_jobs();  // finished jobs older than opts_.job_history; at start and after publishes
  // The packages of `repo`'s bases for `archs` (plus the architectures of `repo` and `other`
  // when given), appended to `out`; `held` keeps them alive. Under store_mu_.
  Status base_packages(const std::string& repo, const std::string& other,
                       std::vector<std::string> archs,
                       std::vector<std::shared_ptr<const BasePackages>>& held,
                       std::vector<const StoredPackage*>& out);
  // The relations of the imported `debs` that neither they, `repo` after the import (without
  // the versions they replace) nor its bases satisfy; none when `repo` has no bases. kRefused
  // listing them unless `allow_unresolved`. Under store_mu_.
  Result<std::vector<UnresolvedRelation>> check_import(
      const std::string& repo, const std::vector<std::pair<Package, std::string>>& debs,
      const std::vector<StoredPackage>& current, bool allow_unresolved);

  DaemonOptions opts_;
  Logger& log_;
  std::mutex store_mu_;                // the mutation lane's store (jobs run one at a time)
  std::unique_ptr<PoolStore> store_;
  std::mutex read_mu_;                 // the read connection, for GET requests
  std::unique_ptr<PoolStore> reader_;
  std::unique_ptr<JobQueue> jobs_;
  std::unique_ptr<WorkPool> work_;
  std::unique_ptr<ChunkCache> chunks_;
  std::unique_ptr<BaseIndexCache> bases_;
  std::unique_ptr<PdiffStore> pdiffs_;  // null when opts_.pdiff_generations == 0
};

}  // namespace depot::pool

#include "mirror/engine.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "core/file_io.h"
#include "core/units.h"
#include "mirror/committer.h"
#include "mirror/disk_writer.h"
#include "mirror/index_content.h"
#include "mirror/index_fetcher.h"
#include "mirror/plan.h"
#include "mirror/state_db.h"
#include "storage/target.h"

namespace depot {
namespace {

namespace fs = std::filesystem;

FileRecord make_record(const Entry& e, uint64_t size, const Digests& actual, int64_t run_id) {
  FileRecord r;
  r.path = e.path.str();
  r.size = size;
  r.digests = actual;
  // Keep what upstream declared where we did not compute it (both verified equal otherwise).
  for (int i = 0; i < kDigestAlgoCount; ++i) {
    auto a = static_cast<DigestAlgo>(i);
    if (r.digests.get(a).empty()) r.digests.get(a) = e.digests.get(a);
  }
  r.etag = e.etag;
  r.last_modified = e.last_modified;
  r.stage = static_cast<int>(e.stage);
  r.run_id = run_id;
  return r;
}

class MirrorRun final : public SnapshotContext {
 public:
  MirrorRun(const MirrorOptions& opts, const MirrorParts& parts, Logger& logger, Clock& clock,
            const MirrorProgressFn& progress)
      : opts_(opts),
        source_(parts.source),
        target_(parts.target),
        make_downloader_(parts.make_downloader),
        logger_(logger),
        clock_(clock),
        progress_(progress) {}
  ~MirrorRun() override {
    std::error_code ec;  // the scratch directory lives until every stage committed
    if (!opts_.state_dir.empty()) fs::remove_all(opts_.state_dir / "tmp" / "scratch", ec);
  }

  MirrorReport run();

  // SnapshotContext
  Result<std::optional<FetchedIndex>> fetch_index(const std::string& url, const RelPath& path,
                                                  bool optional, const Digests& expected,
                                                  std::optional<uint64_t> size,
                                                  const std::string& accept) override {
    return indexes_->fetch(IndexRequest{url, path, optional, expected, size, accept});
  }
  std::vector<IndexResult> fetch_indexes(std::span<const IndexRequest> requests) override {
    return indexes_->fetch_all(requests);
  }
  Logger& logger() override { return logger_; }
  Result<std::filesystem::path> scratch_dir() override;
  Result<std::filesystem::path> state_dir() override;
  Result<std::shared_ptr<IndexContent>> write_content(const RelPath& path,
                                                      std::string bytes) override;
  std::shared_ptr<IndexContent> committed(const RelPath& path) override {
    if (!committed_record(path)) return nullptr;
    return committed_content(target_, path);
  }

 private:
  // The record of `path` when the file on disk still has the recorded size, else null.
  const FileRecord* committed_record(const RelPath& path) const {
    auto rec = records_.find(path.str());
    auto disk = on_disk_.find(path.str());
    if (rec == records_.end() || disk == on_disk_.end() || disk->second.size != rec->second.size) {
      return nullptr;
    }
    return &rec->second;
  }
  MirrorReport fail(MirrorOutcome outcome, const Error& error);
  Status record_run(const char* status);  // the run's row, from report_
  Status download(const std::vector<Entry>& entries, const Plan& plan);
  Status commit_stage(const std::vector<Entry>& entries, const Plan& plan, Stage stage);
  Result<std::unique_ptr<WriteTxn>> copy_content(const Entry& e);
  Status open_state();
  void adopt_existing(const std::vector<Entry>& entries, Plan& plan);
  // Counts the files it had to read into `read_back`.
  Result<Digests> existing_digests(const Entry& e, uint64_t& read_back);
  Status remove_stale(const Plan& plan, size_t mirrored_files);
  void report_progress(const MirrorProgress& p) {
    if (progress_) progress_(p);
  }

  const MirrorOptions& opts_;
  Source& source_;
  Target& target_;
  const DownloaderFactory& make_downloader_;
  Logger& logger_;
  Clock& clock_;
  const MirrorProgressFn& progress_;
  SteadyTime start_;
  MirrorReport report_;
  UniqueFd lock_;
  bool busy_ = false;  // another run holds lock_
  std::optional<StateDb> db_;
  std::unordered_map<std::string, FileRecord> records_;
  std::unordered_map<std::string, FileStat> on_disk_;
  std::unique_ptr<Downloader> downloader_;
  std::unique_ptr<BatchCommitter> committer_;  // declared after db_: destroyed first
  std::unique_ptr<IndexFetcher> indexes_;  // the new content of fetched index files
  int64_t run_id_ = 0;
};

Result<std::filesystem::path> MirrorRun::scratch_dir() {
  fs::path dir = opts_.state_dir / "tmp" / "scratch";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error(ErrorCode::kIo, dir.string() + ": " + ec.message());
  return dir;
}

Result<std::filesystem::path> MirrorRun::state_dir() {
  fs::path dir = opts_.state_dir / "state";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error(ErrorCode::kIo, dir.string() + ": " + ec.message());
  return dir;
}

MirrorReport MirrorRun::fail(MirrorOutcome outcome, const Error& error) {
  report_.outcome = outcome;
  report_.error = error.message;
  report_.seconds = std::chrono::duration<double>(clock_.now() - start_).count();
  logger_.error("mirror.failed", {{"reason", error.message}, {"code", static_cast<int>(outcome)}});
  if (db_ && run_id_) (void)record_run("failed");
  return report_;
}

Status MirrorRun::record_run(const char* status) {
  RunRecord r;
  r.id = run_id_;
  r.status = status;
  r.exit_code = static_cast<int>(report_.outcome);
  r.files_total = report_.files_total;
  r.files_downloaded = report_.files_downloaded;
  r.bytes_downloaded = report_.bytes_downloaded;
  r.files_failed = report_.failed.size();
  r.files_removed = report_.files_removed;
  r.message = report_.error;
  return db_->finish_run(r);
}

// The digests of the unrecorded file `e` found on the target: those the target stored with it
// when they cover the sha256 the entry declares (no read), else hashed from its bytes.
Result<Digests> MirrorRun::existing_digests(const Entry& e, uint64_t& read_back) {
  if (!e.digests.sha256.empty()) {
    auto stored = target_.stored_digests(e.path);
    if (stored.ok() && *stored && !(*stored)->sha256.empty()) return **stored;
  }
  ++read_back;
  DEPOT_ASSIGN_OR_RETURN(auto in, target_.open_read(e.path));
  DEPOT_ASSIGN_OR_RETURN(auto hashed, hash_source(*in, Hasher::mask_for(e.digests)));
  if (hashed.second != *e.size) {
    return make_error(ErrorCode::kSizeMismatch, e.path.str() + ": size differs from the index");
  }
  return hashed.first;
}

void MirrorRun::adopt_existing(const std::vector<Entry>& entries, Plan& plan) {
  uint64_t read_back = 0;
  for (size_t i : plan.rehash) {
    const Entry& e = entries[i];
    auto digests = existing_digests(e, read_back);
    if (digests.ok() && e.digests.verify(*digests, e.path.str()).ok()) {
      committer_->add(nullptr, make_record(e, *e.size, *digests, run_id_));
      ++report_.files_adopted;
    } else {
      plan.download.push_back(i);
      plan.download_bytes += e.size.value_or(0);
    }
  }
  if (!plan.rehash.empty()) {
    logger_.info("mirror.adopt", {{"found", static_cast<uint64_t>(plan.rehash.size())},
                                  {"adopted", report_.files_adopted},
                                  {"read_back", read_back}});
  }
}

Status MirrorRun::download(const std::vector<Entry>& entries, const Plan& plan) {
  DiskWriter writer(target_);
  std::vector<std::unique_ptr<DiskWriter::Sink>> sinks;
  sinks.reserve(plan.download.size());
  for (size_t i : plan.download) {
    const Entry& e = entries[i];
    sinks.push_back(writer.make_sink(
        e.path, WriteHints{.sha256 = e.digests.sha256, .size = e.size.value_or(0)}));
  }

  // Several download loops, each on its own thread with its own connections, share the
  // receive-and-hash work across cores; the per-host limits are split between them.
  std::vector<uint64_t> sizes;
  sizes.reserve(plan.download.size());
  for (size_t i : plan.download) sizes.push_back(entries[i].size.value_or(0));
  const std::vector<size_t> loop_of = assign_download_loops(sizes, opts_.transfer_threads);
  const size_t loops =
      loop_of.empty() ? 1 : *std::max_element(loop_of.begin(), loop_of.end()) + 1;
  std::vector<std::vector<DownloadJob>> jobs(loops);
  std::vector<std::vector<size_t>> job_index(loops);  // loop-local job -> sinks/plan index
  for (size_t j = 0; j < plan.download.size(); ++j) {
    const Entry& e = entries[plan.download[j]];
    DownloadJob job;
    job.request.url = e.url;
    job.request.expected_size = e.size;
    job.request.expected = e.digests;
    job.sink = sinks[j].get();
    jobs[loop_of[j]].push_back(std::move(job));
    job_index[loop_of[j]].push_back(j);
  }

  std::mutex mu;  // guards report_, storage_error, progress
  Status storage_error;
  std::vector<DownloadProgress> progress(loops);
  auto on_done = [&](size_t j, const Result<FetchResult>& res) {
    const Entry& e = entries[plan.download[j]];
    if (!res.ok()) {
      sinks[j]->drop();
      logger_.warn("mirror.file_failed", {{"path", e.path.str()}, {"reason", res.error().to_string()}});
      std::lock_guard lock(mu);
      report_.failed.push_back({e.path.str(), res.error().to_string()});
      return;
    }
    {
      std::lock_guard lock(mu);
      ++report_.files_downloaded;
      report_.bytes_downloaded += res->bytes;
    }
    sinks[j]->finish([this, &mu, &storage_error,
                      record = make_record(e, res->bytes, res->digests, run_id_)](
                         Result<std::unique_ptr<WriteTxn>> txn) mutable {
      if (txn.ok()) {
        committer_->add(std::move(txn).value(), std::move(record));
        return;
      }
      std::lock_guard lock(mu);
      if (storage_error.ok()) storage_error = txn.error();
    });
  };
  auto run_loop = [&](size_t t, Downloader& d) {
    d.run(
        jobs[t], [&](size_t k, const Result<FetchResult>& res) { on_done(job_index[t][k], res); },
        [&](const DownloadProgress& p) {
          std::lock_guard lock(mu);
          progress[t] = p;
          DownloadProgress sum;
          for (const auto& q : progress) {
            sum.files_done += q.files_done;
            sum.bytes_done += q.bytes_done;
            sum.active += q.active;
          }
          report_progress({.phase = "download",
                           .files_done = sum.files_done,
                           .files_total = plan.download.size(),
                           .bytes_done = sum.bytes_done,
                           .bytes_total = plan.download_bytes,
                           .active = sum.active});
        });
  };
  if (loops == 1) {
    if (!jobs[0].empty()) run_loop(0, *downloader_);
  } else {
    DownloadOptions per_loop = opts_.download;
    auto share = [&](int n) { return n > 0 ? std::max(1, (n + static_cast<int>(loops) - 1) / static_cast<int>(loops)) : 0; };
    per_loop.fixed_concurrency = share(per_loop.fixed_concurrency);
    per_loop.initial_concurrency = share(per_loop.initial_concurrency);
    per_loop.max_concurrency = share(per_loop.max_concurrency);
    std::vector<std::thread> threads;
    for (size_t t = 0; t < loops; ++t) {
      threads.emplace_back([&, t] {
        auto d = make_downloader_(per_loop);
        run_loop(t, *d);
      });
    }
    for (auto& th : threads) th.join();
  }
  writer.drain();
  Status committed = committer_->drain();
  DEPOT_TRY(storage_error);
  return committed;
}

Status MirrorRun::commit_stage(const std::vector<Entry>& entries, const Plan& plan, Stage stage) {
  std::vector<std::unique_ptr<WriteTxn>> txns;
  std::vector<FileRecord> records;
  for (size_t i : plan.write) {
    const Entry& e = entries[i];
    if (e.stage != stage) continue;
    std::unique_ptr<WriteTxn> txn = e.content ? e.content->take_txn(e.path) : nullptr;
    if (!txn) {
      // A copy of content fetched under another name (an apt by-hash file).
      DEPOT_ASSIGN_OR_RETURN(txn, copy_content(e));
    }
    records.push_back(make_record(e, e.size.value_or(0), e.digests, run_id_));
    txns.push_back(std::move(txn));
  }
  DEPOT_TRY(target_.commit(txns));
  report_.indexes_written += txns.size();
  return db_->upsert(records);
}

Result<std::unique_ptr<WriteTxn>> MirrorRun::copy_content(const Entry& e) {
  if (!e.content) return make_error(ErrorCode::kInternal, e.path.str() + ": index content missing");
  DEPOT_ASSIGN_OR_RETURN(std::unique_ptr<WriteTxn> txn, target_.begin_write(e.path));
  DEPOT_ASSIGN_OR_RETURN(auto in, e.content->open());
  Hasher hasher(Hasher::mask_for(e.digests));
  uint64_t size = 0;
  DEPOT_TRY(for_each_chunk(*in, [&](std::string_view chunk) {
    hasher.update(chunk);
    size += chunk.size();
    return txn->write(std::as_bytes(std::span(chunk.data(), chunk.size())));
  }));
  if (e.size && *e.size != size) {
    return make_error(ErrorCode::kSizeMismatch, e.path.str() + ": copied content has the wrong size");
  }
  DEPOT_TRY(e.digests.verify(hasher.finish(), e.path.str()));
  DEPOT_TRY(txn->close());
  return txn;
}

Result<std::shared_ptr<IndexContent>> MirrorRun::write_content(const RelPath& path,
                                                               std::string bytes) {
  DEPOT_ASSIGN_OR_RETURN(auto txn, target_.begin_write(path, WriteHints{.readable = true}));
  DEPOT_TRY(txn->write(std::as_bytes(std::span(bytes.data(), bytes.size()))));
  DEPOT_TRY(txn->close());
  return pending_content(target_, std::move(txn));
}

Status MirrorRun::remove_stale(const Plan& plan, size_t mirrored_files) {
  // Recorded index files (never roots) the source keeps after they are superseded (apt by-hash
  // files) wait out the grace period; everything else goes at once.
  DEPOT_ASSIGN_OR_RETURN(auto since, db_->load_stale());
  const int64_t now = unix_seconds(clock_.wall());
  const int64_t grace = opts_.index_grace.count();
  std::unordered_map<std::string, int64_t> in_grace;
  std::vector<std::string> removable;
  for (const auto& p : plan.stale) {
    auto rec = records_.find(p);
    auto rel = RelPath::parse(p);
    // Roots never wait: a signature or root upstream dropped must not sit beside the new root.
    if (grace > 0 && rec != records_.end() && rec->second.stage == static_cast<int>(Stage::kIndex) &&
        rel.ok() && source_.keeps_superseded(*rel)) {
      auto it = since.find(p);
      int64_t first = it == since.end() ? now : it->second;
      if (now - first < grace) {
        in_grace[p] = first;
        continue;
      }
    }
    removable.push_back(p);
  }
  report_.stale_in_grace = in_grace.size();
  if (!in_grace.empty()) {
    logger_.info("mirror.stale_in_grace", {{"files", static_cast<uint64_t>(in_grace.size())},
                                           {"grace_seconds", grace}});
  }
  DEPOT_TRY(db_->replace_stale(in_grace));
  if (opts_.no_delete) {
    report_.stale_kept = removable.size();
    if (!removable.empty()) {
      logger_.info("mirror.stale_kept", {{"files", static_cast<uint64_t>(removable.size())}});
    }
    return ok_status();
  }
  if (removable.empty()) return ok_status();
  double limit = opts_.delete_limit * static_cast<double>(std::max<size_t>(mirrored_files, 1));
  if (!opts_.force && removable.size() > opts_.delete_floor &&
      static_cast<double>(removable.size()) > limit) {
    report_.stale_kept = removable.size();
    return make_error(ErrorCode::kRefused,
                      "refusing to remove " + std::to_string(removable.size()) + " of " +
                          std::to_string(mirrored_files) + " files (limit " +
                          std::to_string(static_cast<int>(opts_.delete_limit * 100)) +
                          "%); check the upstream, then re-run with --force or --no-delete");
  }
  for (const auto& p : removable) {
    auto rel = RelPath::parse(p);
    if (!rel.ok()) continue;
    DEPOT_TRY(target_.remove(*rel));
    ++report_.files_removed;
  }
  return db_->remove(removable);
}

// Takes the run lock, clears what interrupted runs left on the target, opens the state.
Status MirrorRun::open_state() {
  std::error_code ec;
  fs::create_directories(opts_.state_dir, ec);
  if (ec) return make_error(ErrorCode::kIo, opts_.state_dir.string() + ": " + ec.message());
  auto lock = lock_file(opts_.state_dir / "lock", "another depot run is using this directory");
  if (!lock.ok()) {
    busy_ = lock.error().code == ErrorCode::kRefused;
    return lock.error();
  }
  lock_ = std::move(lock).value();
  if (opts_.rebuild_state) {
    for (const char* name : {"state.db", "state.db-wal", "state.db-shm"}) {
      fs::remove(opts_.state_dir / name, ec);
      if (ec) return make_error(ErrorCode::kIo, (opts_.state_dir / name).string() + ": " + ec.message());
    }
    logger_.info("mirror.rebuild_state", {{"state", (opts_.state_dir / "state.db").string()}});
  }
  DEPOT_TRY(target_.clear_debris());
  DEPOT_ASSIGN_OR_RETURN(auto db, StateDb::open(opts_.state_dir / "state.db"));
  db_.emplace(std::move(db));
  DEPOT_ASSIGN_OR_RETURN(records_, db_->load_files());
  DEPOT_ASSIGN_OR_RETURN(run_id_, db_->begin_run(opts_.kind, opts_.upstream));
  return ok_status();
}

MirrorReport MirrorRun::run() {
  start_ = clock_.now();
  if (auto st = open_state(); !st.ok()) {
    return fail(busy_ ? MirrorOutcome::kBusy : MirrorOutcome::kStorage, st.error());
  }
  auto foreign = [&](const std::string& rel) {
    return std::any_of(opts_.foreign_prefixes.begin(), opts_.foreign_prefixes.end(),
                       [&](const std::string& prefix) { return rel.starts_with(prefix); });
  };
  if (auto s = target_.list([&](const RelPath& p, const FileStat& st) {
        if (!foreign(p.str())) on_disk_[p.str()] = st;
      });
      !s.ok()) {
    return fail(MirrorOutcome::kStorage, s.error());
  }
  downloader_ = make_downloader_(opts_.download);
  indexes_ = std::make_unique<IndexFetcher>(
      target_, *downloader_, opts_.max_index_size,
      [this](const RelPath& path) { return committed_record(path); });

  report_progress({.phase = "snapshot"});
  auto snap = source_.snapshot(*this);
  if (!snap.ok()) {
    return fail(snap.error().code == ErrorCode::kIo ? MirrorOutcome::kStorage : MirrorOutcome::kUpstream, snap.error());
  }
  const std::vector<Entry>& entries = snap->entries;
  report_.files_total = entries.size();
  for (const Entry& e : entries) report_.bytes_total += e.size.value_or(0);
  auto planned = make_plan(entries, records_, on_disk_);
  if (!planned.ok()) return fail(MirrorOutcome::kUpstream, planned.error());
  Plan plan = std::move(planned).value();
  report_.files_unchanged = plan.unchanged.size();
  logger_.info("mirror.plan", {{"entries", static_cast<uint64_t>(entries.size())},
                               {"download", static_cast<uint64_t>(plan.download.size())},
                               {"download_bytes", plan.download_bytes},
                               {"verify_existing", static_cast<uint64_t>(plan.rehash.size())},
                               {"indexes", static_cast<uint64_t>(plan.write.size())},
                               {"stale", static_cast<uint64_t>(plan.stale.size())}});
  committer_ = std::make_unique<BatchCommitter>(target_, *db_, logger_, clock_, opts_.batch);
  adopt_existing(entries, plan);
  if (auto s = download(entries, plan); !s.ok()) return fail(MirrorOutcome::kStorage, s.error());
  if (!report_.failed.empty()) {
    return fail(MirrorOutcome::kFilesFailed,
                make_error(ErrorCode::kRefused,
                           std::to_string(report_.failed.size()) +
                               " file(s) failed; the previous index generation stays published"));
  }
  report_progress({.phase = "commit"});
  for (Stage st : {Stage::kBlob, Stage::kIndex, Stage::kRoot}) {
    if (auto s = commit_stage(entries, plan, st); !s.ok()) return fail(MirrorOutcome::kStorage, s.error());
  }
  report_.indexes_committed = true;
  report_progress({.phase = "cleanup"});
  if (auto s = remove_stale(plan, on_disk_.size()); !s.ok()) {
    return fail(s.error().code == ErrorCode::kRefused ? MirrorOutcome::kDeleteRefused : MirrorOutcome::kStorage,
                s.error());
  }
  report_.seconds = std::chrono::duration<double>(clock_.now() - start_).count();
  if (auto s = record_run("complete"); !s.ok()) return fail(MirrorOutcome::kStorage, s.error());
  return report_;
}

}  // namespace

MirrorReport run_mirror(const MirrorOptions& options, const MirrorParts& parts, Logger& logger,
                        Clock& clock, const MirrorProgressFn& progress) {
  MirrorRun run(options, parts, logger, clock, progress);
  return run.run();
}

}  // namespace depot

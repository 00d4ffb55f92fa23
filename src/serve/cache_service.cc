#include "serve/cache_service.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unordered_map>

#include "core/clock.h"
#include "core/file_io.h"
#include "core/rel_path.h"
#include "serve/cache_fetch.h"
#include "serve/directory_listing.h"
#include "serve/file_class.h"
#include "serve/http_semantics.h"
#include "serve/request_path.h"
#include "serve/tier_writer.h"
#include "serve/upstream_pool.h"

namespace depot {
namespace {

using Steady = std::chrono::steady_clock;

int64_t now_unix() { return unix_seconds(std::chrono::system_clock::now()); }

}  // namespace


CacheService::CacheService(const ServiceOptions& options, ServeMetrics& metrics, Logger& logger)
    : opts_(options),
      clock_(options.clock ? *options.clock : system_clock()),
      open_files_(options.open_file_ttl),
      metrics_(metrics),
      log_(logger) {}

CacheService::~CacheService() {
  if (relearn_.joinable()) {
    relearn_.request_stop();
    relearn_.join();
  }
  prefetcher_.reset();  // its jobs hold requests of this service
  if (usage_) (void)usage_->flush();
  // Joins the workers before the store and the maps go. Each pool's last callbacks may still
  // use what is reset after it: tier reads hand over to upstream, upstream fetches offer blobs
  // to the tier writer, which reads the store.
  tier_pool_.reset();
  pool_.reset();
  tier_writer_.reset();
}

Result<std::unique_ptr<CacheService>> CacheService::create(const ServiceOptions& options,
                                                           ServeMetrics& metrics,
                                                           Logger& logger) {
  std::unique_ptr<CacheService> s(new CacheService(options, metrics, logger));
  int fd = ::open(options.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return make_error(ErrorCode::kIo,
                      options.root.string() + ": cannot open the served directory: " +
                          std::strerror(errno));
  }
  s->root_fd_.reset(fd);
  if (options.proxy.enabled) {
    for (const ProxyHost& h : options.proxy.allow) {
      UpstreamConfig u{h.prefix(), h.url()};
      u.proxied = true;
      s->opts_.upstreams.push_back(std::move(u));
    }
  }
  if (!s->opts_.upstreams.empty()) {
    CacheStore::Options co;
    co.dir = options.cache_dir.empty() ? options.root / ".depot-cache" : options.cache_dir;
    s->opts_.cache_dir = co.dir;
    co.max_bytes = options.cache_size;
    auto store = CacheStore::open(co, logger);
    if (!store.ok()) return store.error();
    s->store_ = std::move(*store);
    s->pool_ = std::make_unique<UpstreamPool>(options.upstream_workers, options.download,
                                              s->clock_, logger);
    for (size_t i = 0; i < s->opts_.upstreams.size(); ++i) {
      s->health_.push_back(std::make_unique<UpstreamHealth>(options.health, s->clock_));
    }
    if (options.tier) s->start_tier(options);
    if (Status st = s->start_prefetch(); !st.ok()) return st.error();
    metrics.cache_limit_bytes = static_cast<int64_t>(options.cache_size);
    // The packages the cached indexes name stay verified after a restart; read in the
    // background so that serving starts at once.
    auto indexes = s->store_->find_paths(
        [](std::string_view rel) { return PoolIndex::may_name_packages(rel); });
    if (!indexes.empty()) {
      CacheService* self = s.get();
      s->relearn_ = std::jthread([self, indexes](std::stop_token stop) {
        for (const auto& [rel, sha256] : indexes) {
          if (stop.stop_requested()) return;
          (void)self->packages_.learn(rel, sha256, self->cache_path(rel));
        }
        self->log_.info("pool_index_loaded",
                        {{"indexes", static_cast<uint64_t>(indexes.size())},
                         {"files", static_cast<uint64_t>(self->packages_.size())}});
      });
    }
  }
  s->tick();
  return s;
}

void CacheService::tick() {
  if (!store_) return;
  if (size_t late = pool_->sweep(opts_.upstream_queue_timeout); late > 0) {
    metrics_.upstream_queue_timeouts += late;
    log_.warn("upstream_queue_timeout", {{"requests", static_cast<uint64_t>(late)},
                                         {"workers", pool_->workers()}});
  }
  metrics_.upstream_queued = static_cast<int64_t>(pool_->queued());
  if (tier_pool_) tier_pool_->sweep(opts_.upstream_queue_timeout);  // late reads go upstream
  for (auto& h : health_) h->prune();
  if (Status st = store_->flush_access_times(); !st.ok()) {
    log_.warn("cache_flush_failed", {{"error", st.error().message}});
  }
  metrics_.cache_bytes = static_cast<int64_t>(store_->total_bytes());
  metrics_.cache_files = static_cast<int64_t>(store_->file_count());
  metrics_.evictions = store_->evictions();
  metrics_.known_pool_files = static_cast<int64_t>(packages_.size());
  prefetch_tick();
  std::lock_guard lock(mu_);
  auto now = Steady::now();
  for (auto it = negative_.begin(); it != negative_.end();) {
    it = it->second <= now ? negative_.erase(it) : std::next(it);
  }
}

std::optional<Answer> CacheService::resolve(const ServeRequest& request, const Later& later,
                                            std::shared_ptr<PendingAnswer>* pending) {
  bool fall_through = false;
  if (auto local = resolve_local(request, &fall_through)) return local;
  if (!fall_through) return error_answer(404, "not found");
  if (size_t up = upstream_of(request.rel); up < opts_.upstreams.size()) {
    note_request(request, up);
    bool handled = false;
    auto a = resolve_registry(request, up, later, pending, &handled);
    if (handled) return a;
  }
  return resolve_cached(request, later, pending);
}

std::optional<Answer> CacheService::resolve_local(const ServeRequest& request,
                                                  bool* fall_through) {
  bool use_cache = opts_.open_file_ttl.count() > 0 && !request.trailing_slash;
  if (use_cache) {
    if (auto a = open_files_.find(request.rel, root_fd_.get())) return a;
  }
  auto opened = open_beneath(root_fd_.get(), request.rel);
  if (!opened.ok()) {
    if (opened.error().code == ErrorCode::kUnsafePath) {
      return error_answer(403, "the path leaves the served directory");
    }
    if (opened.error().code != ErrorCode::kNotFound) {
      log_.warn("serve_open_failed", {{"path", request.rel}, {"error", opened.error().message}});
      return error_answer(500, "cannot open the file");
    }
    *fall_through = true;
    return std::nullopt;
  }
  if (S_ISREG(opened->st.st_mode)) {
    if (request.trailing_slash) return error_answer(404, "not found");
    struct stat st = opened->st;
    Answer a = file_answer(std::move(*opened), CacheOutcome::kMirror, rel_filename(request.rel));
    // Blobs never change in place. A root or an index may be replaced at any moment: its entry
    // is checked against the file's identity on every use, so a new version is served at once
    // and a client never pairs a new InRelease with an old Packages (or the reverse). A file
    // changed in the last seconds is not kept (its dates may still move).
    if (use_cache) {
      bool blob = !opts_.mutable_tree && classify_path(request.rel) == FileClass::kBlob;
      if (blob || st.st_mtim.tv_sec < now_unix() - 2) {
        open_files_.remember(request.rel, a, /*validated=*/!blob, st);
      }
    }
    return a;
  }
  // A directory: its page, or (named without the slash) a redirect to "rel/".
  const bool slash = request.trailing_slash || request.rel.empty();
  for (const DirectoryPage& page : mirror_directory_pages(request.accept)) {
    if (!slash && !page.at_directory_name) continue;
    auto f = open_beneath(root_fd_.get(), rel_join(request.rel, page.variant.file));
    if (f.ok() && S_ISREG(f->st.st_mode)) {
      Answer a = file_answer(std::move(*f), CacheOutcome::kMirror, std::string(page.variant.file));
      a.content_type = page.variant.media_type;
      return a;
    }
  }
  if (!slash) {
    Answer a;
    a.kind = Answer::Kind::kRedirect;
    a.status = 301;
    a.location = "/" + escape_path_for_url(request.rel) + "/";
    return a;
  }
  if (opts_.autoindex) {
    auto listing = render_directory_listing(opened->fd.get(), request.rel);
    if (listing.ok()) {
      Answer a;
      a.kind = Answer::Kind::kText;
      a.content_type = "text/html; charset=utf-8";
      a.text = std::move(*listing);
      return a;
    }
  }
  *fall_through = true;
  return std::nullopt;
}

bool CacheService::negative(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = negative_.find(key);
  if (it == negative_.end()) return false;
  if (it->second > Steady::now()) return true;
  negative_.erase(it);
  return false;
}

std::optional<Answer> CacheService::open_cached(const std::string& key, CacheOutcome outcome,
                                                bool stale, const CachedMeta* meta) {
  CacheStore::Pin pin = store_->pin(key);
  auto f = open_beneath(store_->files_dir_fd(), key);
  if (!f.ok() || !S_ISREG(f->st.st_mode)) return std::nullopt;
  std::optional<CachedMeta> looked_up;
  if (!meta) {
    looked_up = store_->lookup(key);
    if (looked_up) meta = &*looked_up;
  }
  Answer a = cached_file_answer(std::move(*f), outcome,
                                pick_content_type(key, meta ? meta->content_type : std::string()));
  a.body->pin = std::move(pin);
  a.stale = stale;
  return a;
}

std::optional<Answer> CacheService::resolve_cached(const ServeRequest& request,
                                                   const Later& later,
                                                   std::shared_ptr<PendingAnswer>* pending,
                                                   const CacheRoute* route) {
  size_t up = upstream_of(request.rel);
  if (up == opts_.upstreams.size()) return error_answer(404, "not found");
  std::string key = request.rel;
  std::string accept, url;
  if (route) {
    const UpstreamConfig& u = opts_.upstreams[up];
    key = rel_join(u.prefix, route->file);
    accept = route->accept;
    url = u.url + "/" + route->url_path;
  } else if (request.trailing_slash || request.rel == opts_.upstreams[up].prefix) {
    PageVariant page = directory_pages(request.accept).front();
    key = rel_join(request.rel, page.file);
    accept = page.accept;
  }
  if (negative(key)) {
    metrics_.negative_hits++;
    return error_answer(404, "not found upstream (remembered)");
  }
  FileClass cls = classify_path(key);
  std::optional<NamedIndex> expected = by_hash_expectation(key);
  if (!expected && cls != FileClass::kRoot) expected = named_by_root(key);
  if (!expected) expected = page_digest(key);
  if (!expected && cls == FileClass::kBlob) expected = packages_.find(key);
  std::optional<CachedMeta> meta = store_->lookup(key);
  std::optional<BlobOrigin> origin;  // read from the cached documents only for a miss
  if (!expected && cls == FileClass::kBlob && !meta) origin = blob_origin(key, up);
  if (origin) expected = origin->file;
  const UpstreamHealth& health = *health_[up];
  bool circuit_open = health.circuit_open();
  std::optional<PathFailure> path_failed = circuit_open ? std::nullopt : health.path_failure(key);
  if (meta) {
    bool fresh;
    bool generation_check = expected && !expected->digests.sha256.empty();
    if (generation_check) {
      fresh = meta->sha256 == expected->digests.sha256;
    } else if (cls == FileClass::kBlob) {
      fresh = true;
    } else {
      int64_t ttl = opts_.index_ttl.count();
      if (request.max_age) {
        int64_t floor = opts_.proxy.revalidate_after.count();
        ttl = std::min(ttl, std::max(*request.max_age, floor));
      }
      fresh = now_unix() - meta->validated_at < ttl;
    }
    if (fresh) {
      if (auto a = open_cached(key, CacheOutcome::kHit, false, &*meta)) return a;
      meta.reset();  // vanished (evicted) between lookup and open
    } else if (!generation_check && (circuit_open || path_failed)) {
      if (auto a = open_cached(key, CacheOutcome::kStale, true, &*meta)) return a;
      meta.reset();
    } else if (generation_check) {
      meta.reset();  // another generation: never served, never revalidated
    }
  }
  // A blob the shared tier may hold is asked there first, whatever upstream's health.
  bool tier_may_answer = !meta && tier_first(cls, false);
  if (!meta && circuit_open && !tier_may_answer) {
    return error_answer(502, "upstream " + opts_.upstreams[up].url +
                                 " is failing; not asking again for a while");
  }
  if (!meta && path_failed && !tier_may_answer) {
    return error_answer(path_failed->status,
                        "upstream failed for this path moments ago: " + path_failed->message);
  }
  return fetch(key, up, accept, std::move(expected), meta, later, pending,
               origin ? origin->url : url);
}

std::optional<Answer> CacheService::fetch(const std::string& key, size_t up,
                                          const std::string& accept,
                                          std::optional<NamedIndex> expected,
                                          const std::optional<CachedMeta>& cached,
                                          const Later& later,
                                          std::shared_ptr<PendingAnswer>* pending,
                                          const std::string& origin_url) {
  std::shared_ptr<Download> d;
  CacheOutcome outcome = CacheOutcome::kCoalesced;
  std::shared_ptr<Fetch> f;
  std::shared_ptr<Download::Interest> interest;
  {
    std::lock_guard lock(mu_);
    auto it = inflight_.find(key);
    if (it != inflight_.end()) {
      d = it->second;
    } else {
      auto partial = store_->create_partial();
      if (!partial.ok()) {
        log_.error("cache_partial_failed", {{"error", partial.error().message}});
        return error_answer(500, "cannot create a cache file");
      }
      int dup_fd = ::fcntl(partial->fd.get(), F_DUPFD_CLOEXEC, 0);
      if (dup_fd < 0) {
        store_->discard_partial(std::move(*partial));
        return error_answer(500, "cannot create a cache file");
      }
      FileClass cls = classify_path(key);
      // A page a registry rewrites (PyPI's); a document is none, whatever its name.
      bool document = document_rules(key, up) != nullptr;
      auto variant = document ? std::nullopt : page_variant(rel_filename(key));
      bool page = variant && variant->first->paths.rewrite_page && !opts_.upstreams[up].proxied;
      bool whole = cls == FileClass::kRoot || page || document;  // read first
      d = std::make_shared<Download>(key, UniqueFd(dup_fd), !whole);
      f = std::make_shared<Fetch>();
      f->key = key;
      f->upstream = up;
      f->partial = std::move(*partial);
      f->download = d;
      f->cached = cached;
      const UpstreamConfig& u = opts_.upstreams[up];
      std::string rest = key.substr(std::min(key.size(), u.prefix.size()));
      if (!rest.empty() && rest.front() == '/') rest.erase(0, 1);
      std::string url_rest = rest;
      if (expected && !expected->by_hash_rel.empty()) {
        // The immutable copy of exactly the generation the served root names.
        std::string bh = expected->by_hash_rel.substr(std::min(expected->by_hash_rel.size(),
                                                               u.prefix.size()));
        if (!bh.empty() && bh.front() == '/') bh.erase(0, 1);
        url_rest = bh;
      }
      f->page = page;
      if (page) url_rest = rel_parent(rest).empty() ? "" : std::string(rel_parent(rest)) + "/";
      f->request.url = u.url + "/" + escape_path_for_url(url_rest);
      if (page && url_rest.empty()) f->request.url = u.url + "/";
      if (!origin_url.empty()) f->request.url = origin_url;
      f->request.accept = accept;
      f->request.follow_redirects = !u.proxied;
      if (expected) {
        f->request.expected = expected->digests;
        f->request.expected_size = expected->size;
      }
      if (cached && !expected) {
        f->request.if_none_match = cached->etag;
        f->request.if_modified_since = cached->last_modified;
        if (!cached->etag.empty() || !cached->last_modified.empty()) metrics_.revalidations++;
      }
      f->request.cancel = std::make_shared<std::atomic<bool>>(false);
      f->tier_blob = opts_.tier && cls == FileClass::kBlob && !whole;
      Fetch* raw = f.get();
      f->request.on_start = [d, raw, this](const ResponseStart& s) {
        int64_t zero = 0;
        raw->started_ns.compare_exchange_strong(zero, clock_.now().time_since_epoch().count());
        d->on_start(s);
      };
      if (!cached && tier_first(cls, whole)) {
        f->from_tier = true;
        f->tier_url = opts_.tier->url(key);
      }
      d->set_abandoned_hook([this, w = std::weak_ptr<Fetch>(f)] { abandoned(w); });
      inflight_[key] = d;
      outcome = CacheOutcome::kMiss;
    }
    // Under mu_: abandoned() checks under mu_ that no client came back before cancelling.
    interest = std::make_shared<Download::Interest>(d);
  }
  if (f) start(f);
  bool have_cached = cached.has_value();
  bool stale_ok = have_cached && !(expected && !expected->digests.sha256.empty());
  uint64_t waiter = d->wait(Download::State::kPending, 0,
                            [this, d, key, outcome, have_cached, stale_ok, later, interest] {
                              Answer a = answer_from(d, key, outcome, have_cached, stale_ok);
                              a.interest = interest;
                              later(std::move(a));
                            });
  if (pending && waiter != 0) *pending = std::make_shared<PendingAnswer>(d, waiter);
  return std::nullopt;
}

Answer CacheService::answer_from(const std::shared_ptr<Download>& d, const std::string& key,
                                 CacheOutcome outcome, bool have_cached, bool stale_ok) {
  Download::Snapshot s = d->snapshot();
  switch (s.state) {
    case Download::State::kPending:  // not reached: wait() fires on a change
    case Download::State::kStreaming: {
      Answer a;
      a.kind = Answer::Kind::kStream;
      a.outcome = outcome;
      a.download = d;
      a.body = std::make_shared<OpenBody>();  // no fd: the pin keeps the stored file
      a.body->pin = store_->pin(key);
      a.size = static_cast<uint64_t>(s.total);
      a.content_type = pick_content_type(key, s.content_type);
      if (auto t = parse_http_date(s.last_modified)) {
        a.mtime = *t;
        a.last_modified = format_http_date(*t);
        a.etag = make_etag(a.size, *t);
      }
      return a;
    }
    case Download::State::kComplete: {
      int fd = ::fcntl(d->body_fd(), F_DUPFD_CLOEXEC, 0);
      struct stat st {};
      if (fd < 0 || ::fstat(fd, &st) != 0) {
        if (fd >= 0) ::close(fd);
        return error_answer(500, "cannot read the downloaded file");
      }
      OpenedFile of{UniqueFd(fd), st};
      Answer a = cached_file_answer(std::move(of), outcome, pick_content_type(key, s.content_type));
      a.body->download = d;
      a.body->pin = store_->pin(key);
      return a;
    }
    case Download::State::kNotModified:
      if (auto a = open_cached(key, CacheOutcome::kRevalidated, false)) return std::move(*a);
      return error_answer(502, "the cached copy vanished during revalidation");
    case Download::State::kFailed:
      if (s.status == 404) return error_answer(404, "not found upstream");
      if (have_cached && stale_ok) {
        if (auto a = open_cached(key, CacheOutcome::kStale, true)) return std::move(*a);
      }
      Answer a = error_answer(s.status ? s.status : 502, s.error);
      if (a.status == 503) a.retry_after = static_cast<int>(opts_.retry_after.count());
      return a;
  }
  return error_answer(500, "unreachable");
}

void CacheService::finish(const std::shared_ptr<Fetch>& f, const Result<FetchResult>& r) {
  if (f->from_tier && tier_took_over(f, r)) return;
  const std::string& key = f->key;
  UpstreamHealth& health = *health_[f->upstream];
  metrics_.inflight_downloads--;
  if (r.ok()) metrics_.upstream_bytes += r->bytes;
  if (r.ok() && r->not_modified) {
    store_->discard_partial(std::move(f->partial));
    (void)store_->mark_validated(key, r->etag, r->last_modified, now_unix());
    health.on_success(key);
    forget(f);
    f->download->finish_not_modified();
  } else if (r.ok() && f->page && !rewrite_page(f, *r)) {
    store_->discard_partial(std::move(f->partial));
    finish_failed(f, make_error(ErrorCode::kParse, f->request.url + ": malformed simple page"));
  } else if (r.ok()) {
    Download::Snapshot s = f->download->snapshot();
    CachedMeta meta;
    meta.size = f->page ? f->page_size : r->bytes;
    meta.sha256 = f->page ? f->page_sha256 : r->digests.sha256;
    meta.etag = r->etag;
    meta.last_modified = r->last_modified;
    meta.content_type = s.content_type;
    meta.fetched_at = meta.validated_at = now_unix();
    if (auto t = parse_http_date(r->last_modified)) {
      struct timespec times[2] = {{0, UTIME_OMIT}, {*t, 0}};
      ::futimens(f->partial.fd.get(), times);
    }
    bool root_changed = classify_path(key) == FileClass::kRoot && f->cached &&
                        f->cached->sha256 != meta.sha256;
    bool stored = true;
    if (Status st = store_->commit(std::move(f->partial), key, meta); !st.ok()) {
      stored = false;
      log_.warn("cache_store_failed", {{"path", key}, {"error", st.error().message}});
    }
    if (root_changed) evict_root_siblings(key);
    if (stored && f->tier_blob && !f->tier_hit) offer_to_tier(*f, meta);
    if (!f->tier_hit) health.on_success(key);  // the tier's answer says nothing of upstream
    forget(f);  // later requests find the stored file
    f->download->finish_complete(std::move(f->page_fd), meta.size, s.content_type);
    if (stored && PoolIndex::may_name_packages(key)) {
      // After the readers are released: the packages this index names are verified when
      // fetched.
      NamedFiles added;
      auto learnt = packages_.learn(key, meta.sha256, cache_path(key), prefetcher_ ? &added : nullptr);
      if (learnt.ok()) {
        log_.debug("pool_index_learnt", {{"path", key}, {"files", static_cast<uint64_t>(*learnt)}});
        if (!added.empty()) prefetch_new_files(key, added);
      } else {
        log_.debug("pool_index_skipped", {{"path", key}, {"error", learnt.error().message}});
      }
    }
  } else {
    store_->discard_partial(std::move(f->partial));
    finish_failed(f, r.error());
  }
}

void CacheService::finish_failed(const std::shared_ptr<Fetch>& f, const Error& e) {
  const std::string& key = f->key;
  forget(f);
  if (e.code == ErrorCode::kNotFound) {
    (void)store_->remove(key);
    {
      std::lock_guard lock(mu_);
      negative_[key] = Steady::now() + opts_.negative_ttl;
    }
    f->download->finish_failed(404, e.message);
    return;
  }
  if (e.code == ErrorCode::kRefused) {  // cancelled, or no upstream worker in time
    if (e.transient) metrics_.upstream_errors++;
    f->download->finish_failed(503, e.message);
    return;
  }
  metrics_.upstream_errors++;
  int status = e.message.find("imeout") != std::string::npos ||
                       e.message.find("too slow") != std::string::npos
                   ? 504
                   : 502;
  UpstreamHealth& health = *health_[f->upstream];
  if (e.code == ErrorCode::kUnreachable) {
    health.on_unreachable();
  } else if (e.code != ErrorCode::kIo && e.code != ErrorCode::kInternal) {
    bool remember = e.code == ErrorCode::kHttp || status == 504;  // an error status, a stall
    health.on_path_failure(key, PathFailure{status, e.message}, remember);
  }
  log_.warn("upstream_failed", {{"path", key}, {"error", e.message}});
  f->download->finish_failed(status, e.message);
}

void CacheService::abandoned(const std::weak_ptr<Fetch>& weak) {
  std::shared_ptr<Fetch> f = weak.lock();
  if (!f) return;
  {
    std::lock_guard lock(mu_);
    if (f->download->interested() > 0) return;  // a client came back meanwhile
    Download::Snapshot snap = f->download->snapshot();
    bool running = snap.state == Download::State::kPending ||
                   snap.state == Download::State::kStreaming;
    if (!running) return;
    if (worth_finishing(*f, snap)) {
      metrics_.upstream_abandoned_kept++;
      return;
    }
    // New clients of this key start a fresh download instead of joining a cancelled one.
    auto it = inflight_.find(f->key);
    if (it != inflight_.end() && it->second == f->download) inflight_.erase(it);
    f->request.cancel->store(true);
  }
  metrics_.upstream_cancelled++;
  log_.debug("upstream_cancelled", {{"path", f->key}, {"reason", "no client waits for it"}});
}

bool CacheService::worth_finishing(const Fetch& f, const Download::Snapshot& snap) const {
  int64_t started = f.started_ns.load();
  if (started == 0 || snap.total < 0) return false;  // no answer yet, or no end in sight
  auto total = static_cast<uint64_t>(snap.total);
  if (snap.available >= total) return true;
  double elapsed =
      std::chrono::duration<double>(clock_.now().time_since_epoch() - Duration(started)).count();
  if (elapsed <= 0 || snap.available == 0) return false;
  double rate = static_cast<double>(snap.available) / elapsed;
  double eta = static_cast<double>(total - snap.available) / rate;
  return eta <= static_cast<double>(opts_.abandoned_finish.count());
}

std::filesystem::path CacheService::cache_path(const std::string& key) const {
  return opts_.cache_dir / "files" / key;
}

void CacheService::forget(const std::shared_ptr<Fetch>& f) {
  std::lock_guard lock(mu_);
  auto it = inflight_.find(f->key);
  if (it != inflight_.end() && it->second == f->download) inflight_.erase(it);
}

}  // namespace depot

// Usage-driven prefetch (members of CacheService): clients' requests for package files count as
// uses of their package (UsageTable); when a package index read again names files new to its
// family, those of packages used within the window are fetched ahead of clients (Prefetcher),
// each as a request of its own that holds its download until it ends.

#include <mutex>
#include <utility>

#include "core/rel_path.h"
#include "serve/cache_service.h"
#include "serve/upstream_pool.h"
#include "sources/registry.h"

namespace depot {

namespace {

// A prefetch's request: its answer once resolve() gave it, held (with the client interest it
// carries) until the download behind it ends.
struct PrefetchState {
  std::mutex mu;
  std::optional<Answer> answer;
  std::shared_ptr<PendingAnswer> pending;

  std::optional<bool> finished() {
    std::lock_guard lock(mu);
    if (!answer) return std::nullopt;
    if (answer->kind == Answer::Kind::kFile) return true;
    if (answer->kind != Answer::Kind::kStream || !answer->download) return false;
    switch (answer->download->snapshot().state) {
      case Download::State::kComplete:
      case Download::State::kNotModified:
        return true;
      case Download::State::kFailed:
        return false;
      default:
        return std::nullopt;
    }
  }
};

class StateJob final : public PrefetchJob {
 public:
  explicit StateJob(std::shared_ptr<PrefetchState> s) : state_(std::move(s)) {}
  ~StateJob() override {
    std::shared_ptr<PendingAnswer> pending;
    {
      std::lock_guard lock(state_->mu);
      if (!state_->answer) pending = std::move(state_->pending);
    }
    if (pending) pending->cancel();
  }
  std::optional<bool> finished() override { return state_->finished(); }
  uint64_t bytes() override {
    std::lock_guard lock(state_->mu);
    if (!state_->answer) return 0;
    if (state_->answer->kind == Answer::Kind::kFile) return state_->answer->size;
    if (!state_->answer->download) return 0;
    const int64_t total = state_->answer->download->snapshot().total;
    return total > 0 ? static_cast<uint64_t>(total) : 0;
  }

 private:
  std::shared_ptr<PrefetchState> state_;
};

}  // namespace

class CacheService::PrefetchAdapter final : public PrefetchTarget {
 public:
  explicit PrefetchAdapter(CacheService& s) : service_(s) {}
  std::unique_ptr<PrefetchJob> start(const std::string& key) override {
    auto state = std::make_shared<PrefetchState>();
    ServeRequest r;
    r.rel = key;
    r.prefetch = true;
    auto later = [state](Answer a) {
      std::lock_guard lock(state->mu);
      state->answer = std::move(a);
    };
    std::shared_ptr<PendingAnswer> pending;
    auto now = service_.resolve(r, later, &pending);
    {
      std::lock_guard lock(state->mu);
      if (now) {
        state->answer = std::move(*now);
      } else if (!state->answer) {
        state->pending = std::move(pending);
      }
    }
    return std::make_unique<StateJob>(std::move(state));
  }

 private:
  CacheService& service_;
};

Status CacheService::start_prefetch() {
  if (opts_.prefetch.budget_per_hour == 0 || !store_) return {};
  auto usage = UsageTable::open(opts_.cache_dir / "usage.db", opts_.prefetch_window, clock_);
  if (!usage.ok()) return usage.error();
  usage_ = std::move(*usage);
  prefetch_target_ = std::make_unique<PrefetchAdapter>(*this);
  prefetcher_ = std::make_unique<Prefetcher>(opts_.prefetch, clock_, *prefetch_target_);
  usage_flushed_ = clock_.now();
  return {};
}

std::optional<std::string> CacheService::package_of(std::string_view key, size_t up) const {
  const std::string_view file = rel_filename(key);
  const std::string& bound = opts_.upstreams[up].registry;
  for (const RegistryDescriptor* r : registries()) {
    if (!r->paths.package_name || (!bound.empty() && r->name != bound)) continue;
    if (auto name = r->paths.package_name(file)) return name;
  }
  return std::nullopt;
}

void CacheService::note_request(const ServeRequest& request, size_t up) {
  if (!prefetcher_ || request.prefetch) return;
  auto name = package_of(request.rel, up);
  if (!name) return;  // only package files are prefetched, or counted as uses
  if (prefetcher_->take_hit(request.rel)) metrics_.prefetch_hits++;  // at once, not at a tick
  usage_->record(opts_.upstreams[up].prefix, *name);
}

void CacheService::prefetch_new_files(const std::string& index_key, const NamedFiles& added) {
  size_t queued = 0;
  for (const auto& [rel, named] : added) {
    const size_t up = upstream_of(rel);
    if (up >= opts_.upstreams.size()) continue;
    auto name = package_of(rel, up);
    if (!name || !usage_->recently_used(opts_.upstreams[up].prefix, *name)) continue;
    if (prefetcher_->offer(rel, named.size.value_or(0)) == Prefetcher::Offer::kQueued) ++queued;
  }
  if (queued > 0) {
    log_.info("prefetch_queued", {{"index", index_key}, {"files", static_cast<uint64_t>(queued)}});
  }
}

Status CacheService::record_usage(std::string_view scope, const std::vector<std::string>& names) {
  if (!usage_) return make_error(ErrorCode::kRefused, "usage-driven prefetch is off");
  bool known = false;
  for (const UpstreamConfig& u : opts_.upstreams) known = known || u.prefix == scope;
  if (!known) {
    return make_error(ErrorCode::kNotFound, "no upstream serves the prefix \"" +
                                                std::string(scope) + "\"");
  }
  for (const std::string& n : names) usage_->record(scope, n);
  return {};
}

void CacheService::prefetch_tick() {
  if (!prefetcher_) return;
  prefetcher_->poll(pool_->queued() > 0);
  const Prefetcher::Counts c = prefetcher_->counts();
  metrics_.prefetch_queued = c.queued;
  metrics_.prefetch_done = c.done;
  metrics_.prefetch_failed = c.failed;
  metrics_.prefetch_refused = c.refused;
  metrics_.prefetch_bytes = c.bytes;
  metrics_.prefetch_waiting = c.waiting;
  metrics_.prefetch_running = c.running;
  metrics_.usage_names = static_cast<int64_t>(usage_->size());
  if (clock_.now() - usage_flushed_ >= std::chrono::seconds(30)) {
    usage_flushed_ = clock_.now();
    if (Status st = usage_->flush(); !st.ok()) {
      log_.warn("usage_flush_failed", {{"error", st.error().message}});
    }
  }
}

}  // namespace depot

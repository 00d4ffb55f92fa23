// What the cache learns from the indexes that pass through it: what a root names, sibling roots
// evicted with a new one, and registry pages rewritten to point at the cache (with the digests
// they declare). Members of CacheService.

#include <fcntl.h>
#include <unistd.h>

#include "core/digest.h"
#include "core/rel_path.h"
#include "serve/cache_fetch.h"
#include "serve/file_class.h"
#include "serve/page_rewrite.h"
#include "serve/request_path.h"

namespace depot {
namespace {

constexpr uint64_t kMaxRootSize = 64ull << 20;

}  // namespace

std::optional<NamedIndex> CacheService::named_by_root(const std::string& key) {
  for (const std::string& root : candidate_roots(key)) {
    // The served tree's root wins over a cached one, as its files do.
    auto local = open_beneath(root_fd_.get(), root);
    std::optional<OpenedFile> file;
    std::string version;
    if (local.ok() && S_ISREG(local->st.st_mode)) {
      file = std::move(*local);
      version = "mirror:";
    } else {
      auto meta = store_->lookup(root);
      if (!meta) continue;
      auto cached = open_beneath(store_->files_dir_fd(), root);
      if (!cached.ok()) continue;
      file = std::move(*cached);
      version = "cache:" + meta->sha256 + ":";
    }
    version += std::to_string(file->st.st_ino) + ":" + std::to_string(file->st.st_size) + ":" +
               std::to_string(file->st.st_mtim.tv_sec) + "." +
               std::to_string(file->st.st_mtim.tv_nsec);
    bool parsed = false;
    auto hit = roots_.lookup_parsed(root, version, key, &parsed);
    if (!parsed) {
      if (static_cast<uint64_t>(file->st.st_size) > kMaxRootSize) continue;
      std::string text(static_cast<size_t>(file->st.st_size), '\0');
      ssize_t got = ::pread(file->fd.get(), text.data(), text.size(), 0);
      if (got != static_cast<ssize_t>(text.size())) continue;
      hit = roots_.lookup(root, version, text, key);
    }
    return hit;  // the best root present decides, even when it does not name the key
  }
  return std::nullopt;
}

void CacheService::evict_root_siblings(const std::string& key) {
  for (const std::string& sibling : sibling_roots(key)) (void)store_->remove(sibling);
}

bool CacheService::rewrite_page(const std::shared_ptr<Fetch>& f, const FetchResult& r) {
  constexpr uint64_t kMaxPage = 256ull << 20;
  if (r.bytes > kMaxPage) return false;
  std::string body(r.bytes, '\0');
  if (::pread(f->partial.fd.get(), body.data(), body.size(), 0) !=
      static_cast<ssize_t>(body.size())) {
    return false;
  }
  auto variant = page_variant(rel_filename(f->key));
  if (!variant || !variant->first->paths.rewrite_page) return false;
  auto page = variant->first->paths.rewrite_page(
      body, f->download->snapshot().content_type, variant->second.file, f->request.url,
      [this](std::string_view url) { return local_path_for(url, opts_.upstreams); });
  if (!page.ok()) {
    log_.warn("page_rewrite_failed", {{"url", f->request.url}, {"error", page.error().message}});
    return false;
  }
  auto out = store_->create_partial();
  if (!out.ok()) return false;
  const std::string& text = page->body;
  if (::pwrite(out->fd.get(), text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
    store_->discard_partial(std::move(*out));
    return false;
  }
  Hasher h(1u << static_cast<unsigned>(DigestAlgo::kSha256));
  h.update(std::string_view(text));
  f->page_sha256 = h.finish().sha256;
  f->page_size = text.size();
  f->page_fd.reset(::fcntl(out->fd.get(), F_DUPFD_CLOEXEC, 0));
  store_->discard_partial(std::move(f->partial));
  f->partial = std::move(*out);
  NamedFiles added;  // files a page read before did not link to: new releases
  {
    std::lock_guard lock(mu_);
    if (page_digests_.size() > 1000000) {
      page_digests_.clear();
      page_families_.clear();
    }
    const bool baseline = page_families_.insert(PoolIndex::family_of(f->key)).second;
    for (auto& [rel, sha] : page->digests) {
      auto [it, fresh] = page_digests_.insert_or_assign(rel, sha);
      if (fresh && !baseline && prefetcher_) {
        NamedFile n;
        n.digests.sha256 = it->second;
        added.emplace_back(rel, std::move(n));
      }
    }
  }
  if (!added.empty()) prefetch_new_files(f->key, added);
  return true;
}

std::optional<NamedIndex> CacheService::page_digest(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = page_digests_.find(key);
  if (it == page_digests_.end()) return std::nullopt;
  NamedIndex n;
  n.digests.sha256 = it->second;
  return n;
}

}  // namespace depot

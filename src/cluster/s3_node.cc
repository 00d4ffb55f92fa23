// S3Node: opening, status, head, remove and the inventory feed (see s3_node.h); reads and
// uploads are in s3_node_io.cc.

#include "cluster/s3_node.h"

#include <algorithm>
#include <vector>

namespace depot::cluster {

namespace {

std::chrono::seconds whole_seconds(std::chrono::milliseconds ms) {
  return std::max(std::chrono::seconds(1), std::chrono::ceil<std::chrono::seconds>(ms));
}

S3Config tuned(S3Config c, const S3NodeOptions& o, const NodeTimeouts& t) {
  c.connect_timeout = whole_seconds(t.connect);
  c.stall_timeout = whole_seconds(t.stall);
  c.retry.max_attempts = std::max(1, o.attempts);
  return c;
}

int64_t wall_micros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

S3Node::S3Node(NodeEndpoint endpoint, S3Config config, S3NodeOptions options,
               NodeTimeouts timeouts)
    : ep_(std::move(endpoint)),
      config_(tuned(std::move(config), options, timeouts)),
      opts_(options),
      base_(wall_micros()),
      newest_(base_) {}

S3Node::~S3Node() = default;

Error S3Node::named(const Error& e) const {
  return Error{e.code, "node " + ep_.name + ": " + e.message, e.transient};
}

Result<S3Node::Opened> S3Node::open() const {
  std::lock_guard lock(open_mu_);
  if (client_) return Opened{client_, false};
  auto c = S3Client::open(config_);
  if (!c.ok()) return named(c.error());
  client_ = std::shared_ptr<S3Client>(std::move(c).value());
  return Opened{client_, true};
}

Result<NodeStatus> S3Node::status(std::string_view) const {
  DEPOT_ASSIGN_OR_RETURN(Opened o, open());
  if (!o.fresh) {
    if (Status st = o.client->check(); !st.ok()) return named(st.error());
  }
  NodeStatus s;
  s.name = ep_.name;
  s.capacity = opts_.capacity;
  s.inflight = inflight_.load();
  std::lock_guard lock(mu_);
  s.used = used_;
  s.files = known_.size();
  s.free = opts_.capacity == 0 ? kUnboundedFree : opts_.capacity - std::min(opts_.capacity, used_);
  s.size = opts_.capacity == 0 ? kUnboundedFree : opts_.capacity;
  return s;
}

Result<std::optional<NodeFile>> S3Node::head(std::string_view path, std::string_view) const {
  DEPOT_ASSIGN_OR_RETURN(Opened o, open());
  auto h = o.client->head(path);
  if (!h.ok()) return named(h.error());
  // An object without the sha256 depot stores is not a copy this node vouches for.
  if (!*h || (*h)->sha256.empty()) return std::optional<NodeFile>();
  NodeFile f{std::string(path), (*h)->size, (*h)->sha256, 0};
  std::lock_guard lock(mu_);
  if (auto it = known_.find(f.path); it != known_.end() && it->second.sha256 == f.sha256) {
    f.seq = it->second.seq;
  }
  return std::optional<NodeFile>(std::move(f));
}

Result<bool> S3Node::remove(std::string_view path, std::string_view) const {
  DEPOT_ASSIGN_OR_RETURN(Opened o, open());
  auto h = o.client->head(path);
  if (!h.ok()) return named(h.error());
  if (*h) {
    if (Status st = o.client->remove(path); !st.ok()) return named(st.error());
  }
  std::lock_guard lock(mu_);
  drop_known_locked(std::string(path));
  return h->has_value();
}

void S3Node::set_known_locked(const std::string& key, Entry e) const {
  foreign_.erase(key);
  auto [it, inserted] = known_.try_emplace(key);
  if (!inserted) used_ -= std::min(used_, it->second.size);
  e.seq = ++newest_;
  used_ += e.size;
  feed_.push_back(NodeChange{e.seq, false, key, e.size, e.sha256});
  it->second = std::move(e);
  if (relisting_) touched_.insert(key);
}

void S3Node::drop_known_locked(const std::string& key) const {
  if (relisting_) touched_.insert(key);
  auto it = known_.find(key);
  if (it == known_.end()) return;
  used_ -= std::min(used_, it->second.size);
  known_.erase(it);
  feed_.push_back(NodeChange{++newest_, true, key, 0, ""});
}

Result<ChangePage> S3Node::inventory(int64_t since, size_t limit) const {
  DEPOT_TRY(relist_if_due());
  std::lock_guard lock(mu_);
  ChangePage page;
  if (since != 0 && since < base_) return page;  // last 0: a cursor of another feed
  if (since > newest_) {
    page.last = newest_;  // below `since`: the feed was recreated
    return page;
  }
  size_t at = since == 0 ? 0 : static_cast<size_t>(since - base_);
  const size_t stop = std::min(feed_.size(), at + std::max<size_t>(limit, 1));
  for (; at < stop; ++at) page.changes.push_back(feed_[at]);
  page.last = page.changes.empty() ? newest_ : page.changes.back().seq;
  page.more = stop < feed_.size();
  return page;
}

Status S3Node::relist_if_due() const {
  std::lock_guard one(list_mu_);
  {
    std::lock_guard lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    if (listed_at_ && now - *listed_at_ < opts_.relist_interval) return {};
    relisting_ = true;
    touched_.clear();
  }
  Status st = [&]() -> Status {
    DEPOT_ASSIGN_OR_RETURN(Opened o, open());
    return relist(*o.client);
  }();
  std::lock_guard lock(mu_);
  relisting_ = false;
  touched_.clear();
  if (st.ok()) listed_at_ = std::chrono::steady_clock::now();
  return st;
}

// Lists the prefix, HEADs what is new or changed, then applies the differences to the feed,
// leaving alone keys this node put or removed meanwhile (touched_). list_mu_ held.
Status S3Node::relist(S3Client& client) const {
  std::map<std::string, S3ObjectInfo> listed;
  Status st = client.list([&](const S3ObjectInfo& o) {
    listed.emplace(o.key, o);
    return ok_status();
  });
  if (!st.ok()) return named(st.error());
  std::vector<std::string> unknown;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, o] : listed) {
      if (auto f = foreign_.find(key); f != foreign_.end() && f->second == o.etag) continue;
      auto it = known_.find(key);
      if (it == known_.end() || it->second.size != o.size || it->second.etag != o.etag) {
        unknown.push_back(key);
      }
    }
  }
  std::map<std::string, std::optional<S3ObjectInfo>> heads;
  for (const std::string& key : unknown) {
    auto h = client.head(key);
    if (!h.ok()) return named(h.error());
    heads.emplace(key, std::move(h).value());
  }
  std::lock_guard lock(mu_);
  for (const auto& [key, h] : heads) {
    if (touched_.contains(key)) continue;
    auto it = known_.find(key);
    if (!h || h->sha256.empty()) {  // gone since the listing, or not written by depot
      if (h) foreign_[key] = h->etag;
      if (it != known_.end()) drop_known_locked(key);
      continue;
    }
    foreign_.erase(key);
    if (it != known_.end() && it->second.size == h->size && it->second.sha256 == h->sha256) {
      it->second.etag = h->etag;  // the same content (a multipart ETag learnt, or rewritten)
      continue;
    }
    set_known_locked(key, Entry{h->size, h->etag, h->sha256, 0});
  }
  std::vector<std::string> gone;
  for (const auto& [key, e] : known_) {
    if (!listed.contains(key) && !touched_.contains(key)) gone.push_back(key);
  }
  for (const std::string& key : gone) drop_known_locked(key);
  std::erase_if(foreign_, [&](const auto& f) { return !listed.contains(f.first); });
  return {};
}

}  // namespace depot::cluster

#include "serve/open_file_cache.h"

#include <unistd.h>

#include <atomic>
#include <unordered_map>

namespace depot {
namespace {

using Steady = std::chrono::steady_clock;

std::atomic<uint64_t> next_id{1};

struct Entry {
  Answer proto;
  Steady::time_point expires;
  bool validated = false;
  struct stat identity {};
};

bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size &&
         a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec &&
         a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

// Per server thread, so lookups take no lock; entries of another OpenFileCache are dropped.
struct ThreadEntries {
  uint64_t owner = 0;
  std::unordered_map<std::string, Entry> entries;
};
thread_local ThreadEntries open_files;
constexpr size_t kMaxOpenFiles = 4096;

}  // namespace

OpenFileCache::OpenFileCache(std::chrono::milliseconds ttl) : id_(next_id++), ttl_(ttl) {}

std::optional<Answer> OpenFileCache::find(const std::string& rel, int dir_fd) const {
  if (open_files.owner != id_) return std::nullopt;
  auto it = open_files.entries.find(rel);
  if (it == open_files.entries.end()) return std::nullopt;
  const Entry& e = it->second;
  bool stale = e.expires <= Steady::now();
  if (!stale && e.validated) {
    struct stat now {};
    stale = ::fstatat(dir_fd, rel.c_str(), &now, 0) != 0 || !same_file(now, e.identity);
  }
  if (stale) {
    open_files.entries.erase(it);
    return std::nullopt;
  }
  const Answer& proto = e.proto;
  Answer a;  // lean copy: the strings stay in `prepared`
  a.kind = Answer::Kind::kFile;
  a.outcome = proto.outcome;
  a.body = proto.body;
  a.size = proto.size;
  a.mtime = proto.mtime;
  a.prepared = proto.prepared;
  return a;
}

void OpenFileCache::remember(const std::string& rel, const Answer& answer, bool validated,
                             const struct stat& st) {
  constexpr uint64_t kMaxKeptBody = 32 * 1024;
  if (open_files.owner != id_) {
    open_files.owner = id_;
    open_files.entries.clear();
  }
  if (open_files.entries.size() >= kMaxOpenFiles) open_files.entries.clear();
  auto prepared = std::make_shared<PreparedFile>();
  prepared->content_type = answer.content_type;
  prepared->etag = answer.etag;
  prepared->last_modified = answer.last_modified;
  prepared->fields = "Content-Type: " + answer.content_type + "\r\nETag: " + answer.etag +
                     (answer.last_modified.empty() ? ""
                                                   : "\r\nLast-Modified: " + answer.last_modified) +
                     "\r\nAccept-Ranges: bytes\r\nX-Depot-Cache: " +
                     cache_outcome_name(answer.outcome) +
                     "\r\nContent-Length: " + std::to_string(answer.size) + "\r\n";
  if (answer.size <= kMaxKeptBody) {
    prepared->bytes.resize(answer.size);
    prepared->has_bytes = ::pread(answer.body->fd.get(), prepared->bytes.data(), answer.size,
                                  0) == static_cast<ssize_t>(answer.size);
    if (!prepared->has_bytes) prepared->bytes.clear();
  }
  Answer proto;
  proto.kind = Answer::Kind::kFile;
  proto.outcome = answer.outcome;
  proto.body = answer.body;
  proto.size = answer.size;
  proto.mtime = answer.mtime;
  proto.prepared = std::move(prepared);
  open_files.entries[rel] = Entry{std::move(proto), Steady::now() + ttl_, validated, st};
}

}  // namespace depot

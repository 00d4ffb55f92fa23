#include "serve/open_file_cache.h"

#include <unistd.h>

#include <atomic>
#include <unordered_map>

namespace depot {
namespace {

using Steady = std::chrono::steady_clock;

std::atomic<uint64_t> next_id{1};

// Per server thread, so lookups take no lock; entries of another OpenFileCache are dropped.
struct ThreadEntries {
  uint64_t owner = 0;
  std::unordered_map<std::string, std::pair<Answer, Steady::time_point>> entries;
};
thread_local ThreadEntries open_files;
constexpr size_t kMaxOpenFiles = 4096;

}  // namespace

OpenFileCache::OpenFileCache(std::chrono::milliseconds ttl) : id_(next_id++), ttl_(ttl) {}

std::optional<Answer> OpenFileCache::find(const std::string& rel) const {
  if (open_files.owner != id_) return std::nullopt;
  auto it = open_files.entries.find(rel);
  if (it == open_files.entries.end()) return std::nullopt;
  if (it->second.second <= Steady::now()) {
    open_files.entries.erase(it);
    return std::nullopt;
  }
  const Answer& proto = it->second.first;
  Answer a;  // lean copy: the strings stay in `prepared`
  a.kind = Answer::Kind::kFile;
  a.outcome = proto.outcome;
  a.body = proto.body;
  a.size = proto.size;
  a.mtime = proto.mtime;
  a.prepared = proto.prepared;
  return a;
}

void OpenFileCache::remember(const std::string& rel, const Answer& answer) {
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
  open_files.entries[rel] = {std::move(proto), Steady::now() + ttl_};
}

}  // namespace depot

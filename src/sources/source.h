#pragma once
// Source: one upstream registry. snapshot() lists every entry of one upstream state. Index
// files the source downloads to build the list are kept in a temporary store and handed over
// as entries with local content, so they are never downloaded twice.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/digest.h"
#include "core/logger.h"
#include "core/rel_path.h"
#include "core/result.h"

namespace depot {

// Commit stages, lowest first. An entry commits only after every entry of every lower stage
// committed and verified. Blobs are the files indexes name; the root is signed/top index.
enum class Stage : int { kBlob = 0, kIndex = 1, kRoot = 2 };

struct Entry {
  RelPath path;
  std::optional<uint64_t> size;  // declared by upstream (verified), when known
  Digests digests;               // declared by upstream (verified); may be empty for indexes
  std::string url;               // where to fetch it
  Stage stage = Stage::kBlob;

  // Set when the source already fetched the content (index files).
  std::optional<std::filesystem::path> local;
  // True when the upstream answered 304: the mirrored copy is current, nothing to write.
  bool unchanged = false;
  std::string etag;           // validators of the fetched content, for the next run
  std::string last_modified;
};

struct Snapshot {
  std::vector<Entry> entries;
};

// What an index fetch produced.
struct FetchedIndex {
  // Local file holding the current content: a new download in the temporary store, or the
  // mirrored copy itself when `unchanged`. Read-only for the source.
  std::filesystem::path local;
  bool unchanged = false;
  uint64_t size = 0;
  Digests digests;
  std::string etag, last_modified;
};

// One index file to fetch: the arguments of SnapshotContext::fetch_index.
struct IndexRequest {
  std::string url;
  RelPath path;
  bool optional = false;
  Digests expected = {};
  std::optional<uint64_t> size = {};
  std::string accept = {};
};
using IndexResult = Result<std::optional<FetchedIndex>>;

// Services the engine gives a source while it takes a snapshot. Not thread-safe.
class SnapshotContext {
 public:
  virtual ~SnapshotContext() = default;
  // Fetches an index file that will be mirrored at `path`, conditionally (validators of the
  // mirrored copy), into the temporary store. Verifies `expected` digests/size when given.
  // With `optional`, a 404 yields nullopt instead of an error. A non-empty `accept` is sent
  // as the Accept header (content negotiation, e.g. PEP 691).
  virtual Result<std::optional<FetchedIndex>> fetch_index(const std::string& url,
                                                          const RelPath& path, bool optional,
                                                          const Digests& expected = {},
                                                          std::optional<uint64_t> size = {},
                                                          const std::string& accept = {}) = 0;
  // fetch_index for each request, concurrently where the context can: one result per request,
  // in order. The default fetches them one by one.
  virtual std::vector<IndexResult> fetch_indexes(std::span<const IndexRequest> requests);
  virtual Logger& logger() = 0;
  // A private directory for helper files (signature checks, ...), emptied at each run start.
  virtual Result<std::filesystem::path> scratch_dir() = 0;
  // A private directory kept between runs of this mirror (caches, such as a git clone); never
  // served nor emptied by depot. The default keeps none (kInvalidArgument).
  virtual Result<std::filesystem::path> state_dir() {
    return make_error(ErrorCode::kInvalidArgument, "this run keeps no state directory");
  }
  // The committed copy of `path` from an earlier run (to compare generations), if any.
  virtual std::optional<std::filesystem::path> committed(const RelPath& path) = 0;
};

// Fills entry fields from a fetched index (local content, validators, unchanged).
Entry index_entry(const RelPath& path, const std::string& url, Stage stage,
                  const FetchedIndex& fetched);

// Content the source generated, as an entry with local content at `path`: the committed copy
// when it holds the same bytes (nothing written), else `file` (in the scratch dir) written now.
Result<Entry> generated_entry(SnapshotContext& ctx, const std::filesystem::path& file,
                              const std::string& content,
                              const std::string& path, Stage stage);

// A file to download and verify (Stage kBlob).
Entry blob_entry(RelPath path, std::optional<uint64_t> size, Digests digests, std::string url);

// Collects blob entries into `out`, once per path: a path named again with the same size and
// digests is skipped, with different ones it is an error naming the path and `where`. Not
// thread-safe.
class BlobCollector {
 public:
  explicit BlobCollector(std::vector<Entry>& out) : out_(out) {}
  Status add(Entry entry, const std::string& where);
  size_t size() const { return index_.size(); }

 private:
  std::vector<Entry>& out_;
  std::unordered_map<std::string, size_t> index_;  // path -> position in out_
};

// An index file fetched at `rel` below `base_url` (the path it is mirrored at).
struct FetchedFile {
  RelPath path;
  std::string url;
  FetchedIndex index;
  Entry entry(Stage stage) const { return index_entry(path, url, stage, index); }
};

// ctx.fetch_index for `rel` (checked with RelPath, escaped into the URL) below `base_url`.
Result<std::optional<FetchedFile>> fetch_relative(SnapshotContext& ctx, std::string_view base_url,
                                                  const std::string& rel, bool optional,
                                                  const Digests& expected = {},
                                                  std::optional<uint64_t> size = {});

// Options common to every source, from the command line.
struct SourceOptions {
  std::string upstream;  // upstream URL
  std::map<std::string, std::vector<std::string>> lists;  // e.g. "subdir" -> {"linux-64"}
  std::map<std::string, std::string> values;               // e.g. "keyring" -> a file
  std::vector<std::string> list(const std::string& key) const {
    auto it = lists.find(key);
    return it == lists.end() ? std::vector<std::string>{} : it->second;
  }
  std::string value(const std::string& key) const {
    auto it = values.find(key);
    return it == values.end() ? std::string() : it->second;
  }
};

class Source {
 public:
  virtual ~Source() = default;
  virtual std::string name() const = 0;
  virtual Result<Snapshot> snapshot(SnapshotContext& ctx) = 0;
  // True for an index file that, once no longer named, should stay for the grace period
  // because a client holding the previous root may still ask for it (apt by-hash files).
  virtual bool keeps_superseded(const RelPath&) const { return false; }
};

using SourceFactory = std::function<Result<std::unique_ptr<Source>>(const SourceOptions&)>;

// Registry of sources by name. Registration happens once, in source_registry.cc.
Result<std::unique_ptr<Source>> make_source(const std::string& kind, const SourceOptions& opts);
std::vector<std::string> source_names();

// Joins a base URL and a relative path with exactly one slash. `rel` is used as-is.
std::string join_url(std::string_view base, std::string_view rel);
// Percent-encodes one path segment (a file name) for use in a URL: everything except
// RFC 3986 unreserved characters and "+!$&'()*,;=:@" is encoded, including '/', '%', '?', '#'.
std::string escape_url_segment(std::string_view segment);
// escape_url_segment applied to each '/'-separated segment of a relative path.
std::string escape_url_path(std::string_view rel);

}  // namespace depot

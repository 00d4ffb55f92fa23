#pragma once
// A SnapshotContext serving URLs from an in-memory map, for source tests. Verifies the
// expected size and digests as the engine does; records every URL asked for and every read of
// fetched content. Optionally streams bodies to IndexRequest observers piece by piece as a
// download would (with a retry from byte 0), and answers some URLs as unchanged (a 304).

#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/digest.h"
#include "sources/source.h"

namespace depot::testing {

class FakeSnapshotContext final : public SnapshotContext {
 public:
  explicit FakeSnapshotContext(std::filesystem::path dir) : dir_(std::move(dir)) {}
  std::map<std::string, std::string> files;  // url -> body
  std::vector<std::string> asked;
  std::vector<std::string> accepts;  // the Accept value of each request, in order
  // URLs answered unchanged: the mirrored copy (these same bytes), nothing sent to an observer.
  std::set<std::string> unchanged;
  // > 0: fetch_indexes sends each body to the request's observer in pieces of this size while
  // it "downloads", as the engine does. 0: the default (the fetched content replayed after).
  size_t stream_piece = 0;
  // Called before each streamed piece with the URL, the observer and the piece's offset.
  std::function<void(const std::string&, ByteSink&, size_t)> before_piece;
  // URL -> bytes after which its first streamed attempt breaks: the observer is reset() and
  // the body sent again from byte 0 (a retried download).
  std::map<std::string, size_t> break_after;
  std::map<std::string, int> opens;  // URL -> reads of its fetched content (open())

  Result<std::optional<FetchedIndex>> fetch_index(const std::string& url, const RelPath& path,
                                                  bool optional, const Digests& expected,
                                                  std::optional<uint64_t> size,
                                                  const std::string& accept = {}) override {
    asked.push_back(url);
    accepts.push_back(accept);
    auto it = files.find(url);
    if (it == files.end()) {
      if (optional) return std::optional<FetchedIndex>();
      return make_error(ErrorCode::kNotFound, url + ": HTTP 404");
    }
    if (size && *size != it->second.size()) {
      return make_error(ErrorCode::kSizeMismatch, url + ": size differs");
    }
    Hasher h(Hasher::mask_for(expected));
    h.update(it->second);
    Digests actual = h.finish();
    DEPOT_TRY(expected.verify(actual, url));
    FetchedIndex f;
    f.content = std::make_shared<CountedContent>(it->second, opens, url);
    f.unchanged = unchanged.contains(url);
    f.size = it->second.size();
    f.digests = actual;
    f.etag = "\"e-" + path.str() + "\"";
    return std::optional<FetchedIndex>(f);
  }
  std::vector<IndexResult> fetch_indexes(std::span<const IndexRequest> requests) override {
    if (stream_piece == 0) return SnapshotContext::fetch_indexes(requests);
    std::vector<IndexResult> out;
    for (const IndexRequest& r : requests) {
      auto it = files.find(r.url);
      Status streamed = ok_status();
      if (r.observer && it != files.end() && !unchanged.contains(r.url)) {
        streamed = stream(r.url, it->second, *r.observer);
      }
      out.push_back(streamed.ok()
                        ? fetch_index(r.url, r.path, r.optional, r.expected, r.size, r.accept)
                        : IndexResult(streamed.error()));
    }
    return out;
  }
  Logger& logger() override { return null_logger(); }
  std::map<std::string, std::string> committed_files;  // mirror path -> its bytes
  std::shared_ptr<IndexContent> committed(const RelPath& path) override {
    auto it = committed_files.find(path.str());
    if (it == committed_files.end()) return nullptr;
    return memory_content(it->second);
  }
  Result<std::filesystem::path> scratch_dir() override {
    std::filesystem::create_directories(dir_ / "scratch");
    return dir_ / "scratch";
  }
  Result<std::filesystem::path> state_dir() override {
    std::filesystem::create_directories(dir_ / "state");
    return dir_ / "state";
  }

 private:
  class CountedContent final : public IndexContent {
   public:
    CountedContent(std::string bytes, std::map<std::string, int>& opens, std::string url)
        : bytes_(std::make_shared<const std::string>(std::move(bytes))),
          opens_(opens),
          url_(std::move(url)) {}
    Result<std::unique_ptr<ByteSource>> open() override {
      ++opens_[url_];
      return memory_source(bytes_);
    }

   private:
    std::shared_ptr<const std::string> bytes_;
    std::map<std::string, int>& opens_;  // the context's; it outlives the content in tests
    std::string url_;
  };

  Status stream(const std::string& url, const std::string& body, ByteSink& observer) {
    auto send = [&](size_t end) -> Status {
      for (size_t at = 0; at < end; at += stream_piece) {
        size_t n = std::min(stream_piece, end - at);
        if (before_piece) before_piece(url, observer, at);
        DEPOT_TRY(observer.write(std::as_bytes(std::span(body.data() + at, n))));
      }
      return ok_status();
    };
    if (auto b = break_after.find(url); b != break_after.end()) {
      DEPOT_TRY(send(std::min(b->second, body.size())));
      DEPOT_TRY(observer.reset());
    }
    return send(body.size());
  }

  std::filesystem::path dir_;
};

// The bytes of an entry's content ("" when it has none).
inline std::string content_of(const Entry& e) {
  if (!e.content) return "";
  auto bytes = read_content(*e.content, e.path.str());
  return bytes.ok() ? *bytes : "";
}

}  // namespace depot::testing

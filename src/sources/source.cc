#include "sources/source.h"


namespace depot {

namespace {

// Replays fetched content into a request's observer (contexts that fetch one by one).
Status feed_observer(IndexContent& content, ByteSink& observer) {
  DEPOT_ASSIGN_OR_RETURN(auto in, content.open());
  return for_each_chunk(*in, [&](std::string_view chunk) {
    return observer.write(std::as_bytes(std::span(chunk.data(), chunk.size())));
  });
}

}  // namespace

std::vector<IndexResult> SnapshotContext::fetch_indexes(std::span<const IndexRequest> requests) {
  std::vector<IndexResult> out;
  out.reserve(requests.size());
  for (const IndexRequest& r : requests) {
    out.push_back(fetch_index(r.url, r.path, r.optional, r.expected, r.size, r.accept));
    if (r.observer && out.back().ok() && *out.back() && !(*out.back())->unchanged) {
      Status fed = feed_observer(*(*out.back())->content, *r.observer);
      if (!fed.ok()) out.back() = fed.error();
    }
  }
  return out;
}

namespace {

class MemoryContent final : public IndexContent {
 public:
  explicit MemoryContent(std::string bytes)
      : bytes_(std::make_shared<const std::string>(std::move(bytes))) {}
  Result<std::unique_ptr<ByteSource>> open() override { return memory_source(bytes_); }

 private:
  std::shared_ptr<const std::string> bytes_;
};

}  // namespace

std::shared_ptr<IndexContent> memory_content(std::string bytes) {
  return std::make_shared<MemoryContent>(std::move(bytes));
}

Result<std::string> read_content(IndexContent& content, std::string_view name, uint64_t max_bytes) {
  DEPOT_ASSIGN_OR_RETURN(auto in, content.open());
  return read_all(*in, name, max_bytes);
}

Result<std::shared_ptr<IndexContent>> SnapshotContext::write_content(const RelPath&,
                                                                     std::string bytes) {
  return memory_content(std::move(bytes));
}

Entry index_entry(const RelPath& path, const std::string& url, Stage stage,
                  const FetchedIndex& fetched) {
  return Entry{.path = path,
               .size = fetched.size,
               .digests = fetched.digests,
               .url = url,
               .stage = stage,
               .content = fetched.content,
               .unchanged = fetched.unchanged,
               .etag = fetched.etag,
               .last_modified = fetched.last_modified};
}

Result<Entry> generated_entry(SnapshotContext& ctx, std::string content, const std::string& path,
                              Stage stage) {
  DEPOT_ASSIGN_OR_RETURN(RelPath rel, RelPath::parse(path));
  Hasher h(digest_bit(DigestAlgo::kSha256));
  h.update(content);
  Entry e{.path = std::move(rel),
          .size = content.size(),
          .digests = h.finish(),
          .url = {},
          .stage = stage,
          .content = nullptr,
          .unchanged = false,
          .etag = {},
          .last_modified = {}};
  if (auto committed = ctx.committed(e.path)) {
    auto old = read_content(*committed, path, content.size());
    if (old.ok() && *old == content) {  // a re-run's usual case: nothing to write
      e.content = std::move(committed);
      e.unchanged = true;
      return e;
    }
  }
  DEPOT_ASSIGN_OR_RETURN(e.content, ctx.write_content(e.path, std::move(content)));
  return e;
}

Entry blob_entry(RelPath path, std::optional<uint64_t> size, Digests digests, std::string url) {
  return Entry{.path = std::move(path),
               .size = size,
               .digests = std::move(digests),
               .url = std::move(url),
               .stage = Stage::kBlob,
               .content = nullptr,
               .unchanged = false,
               .etag = {},
               .last_modified = {}};
}

Status BlobCollector::add(Entry entry, const std::string& where) {
  auto [it, fresh] = index_.try_emplace(entry.path.str(), out_.size());
  if (fresh) {
    out_.push_back(std::move(entry));
    return ok_status();
  }
  const Entry& prev = out_[it->second];
  if (prev.size != entry.size || !prev.digests.matches(entry.digests)) {
    return make_error(ErrorCode::kParse,
                      where + ": " + entry.path.str() + " is listed twice with different content");
  }
  return ok_status();
}

Result<std::optional<FetchedFile>> fetch_relative(SnapshotContext& ctx, std::string_view base_url,
                                                  const std::string& rel, bool optional,
                                                  const Digests& expected,
                                                  std::optional<uint64_t> size,
                                                  ByteSink* observer) {
  DEPOT_ASSIGN_OR_RETURN(RelPath path, RelPath::parse(rel));
  std::string url = join_url(base_url, escape_url_path(rel));
  IndexRequest request{.url = url,
                       .path = path,
                       .optional = optional,
                       .expected = expected,
                       .size = size,
                       .observer = observer};
  DEPOT_ASSIGN_OR_RETURN(auto f, observer
                                     ? std::move(ctx.fetch_indexes(std::span(&request, 1))[0])
                                     : ctx.fetch_index(url, path, optional, expected, size));
  if (!f) return std::optional<FetchedFile>();
  return std::optional<FetchedFile>(FetchedFile{std::move(path), std::move(url), std::move(*f)});
}

std::string join_url(std::string_view base, std::string_view rel) {
  std::string out(base);
  while (!out.empty() && out.back() == '/') out.pop_back();
  while (!rel.empty() && rel.front() == '/') rel.remove_prefix(1);
  out += '/';
  out += rel;
  return out;
}

std::string escape_url_segment(std::string_view segment) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(segment.size());
  for (unsigned char c : segment) {
    bool keep =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        std::string_view("-._~+!$&'()*,;=:@").find(static_cast<char>(c)) != std::string_view::npos;
    if (keep) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string escape_url_path(std::string_view rel) {
  std::string out;
  while (true) {
    size_t slash = rel.find('/');
    out += escape_url_segment(rel.substr(0, slash));
    if (slash == std::string_view::npos) break;
    out += '/';
    rel.remove_prefix(slash + 1);
  }
  return out;
}

}  // namespace depot

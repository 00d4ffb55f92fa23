#include "sources/opam/opam_source.h"

#include <algorithm>
#include <map>

#include "core/file_io.h"
#include "sources/opam/opam_file.h"
#include "sources/opam/opam_index.h"
#include "transfer/http_util.h"

namespace depot::opam {
namespace {

constexpr uint64_t kMaxRepoFile = 1 << 20;
constexpr size_t kFailuresShown = 5;

// An archive to mirror, merged over every package naming it.
struct Wanted {
  std::string rel;                // cache/<algo>/<xx>/<hex> of the first-listed checksum
  Digests digests;                // every checksum listed for it
  std::string what;               // "package P: archive A", for messages
  std::vector<std::string> urls;  // src, then mirrors, over every package naming it
};

// An archive being fetched: where from now, and the next source to try.
struct Pending {
  const Wanted *wanted;
  RelPath rel;
  std::string url;
  size_t next = 0;  // position in wanted->urls
  Error last;       // why the sources tried so far failed
};

std::string basename_of(std::string_view url) {
  url = url.substr(0, url.find_first_of("?#"));
  size_t slash = url.rfind('/');
  return std::string(slash == std::string_view::npos ? url : url.substr(slash + 1));
}

Status merge(Digests &into, DigestAlgo algo, const std::string &hex, const std::string &what) {
  std::string &slot = into.get(algo);
  if (!slot.empty() && slot != hex) {
    return make_error(ErrorCode::kParse,
                      what + ": conflicting " + digest_algo_name(algo) + " checksums");
  }
  slot = hex;
  return ok_status();
}

Result<std::vector<Wanted>> collect(const std::vector<PackageArchives> &packages,
                                    const std::string &where) {
  std::map<std::string, Wanted> by_rel;
  for (const PackageArchives &p : packages) {
    for (const Archive &a : p.archives) {
      const std::string what = where + ": package " + quote_untrusted(p.package) + ": archive " +
                               quote_untrusted(a.name.empty() ? basename_of(a.src) : a.name);
      auto [it, fresh] = by_rel.try_emplace("cache/" + cache_rel(a.checksums.front()));
      Wanted &w = it->second;
      if (fresh) {
        w.rel = it->first;
        w.what = what;
      }
      for (const Checksum &c : a.checksums) DEPOT_TRY(merge(w.digests, c.algo, c.hex, what));
      std::vector<std::string> urls = a.mirrors;
      if (!a.src.empty()) urls.insert(urls.begin(), a.src);
      for (auto &u : urls) {
        if (std::find(w.urls.begin(), w.urls.end(), u) == w.urls.end()) w.urls.push_back(u);
      }
    }
  }
  std::vector<Wanted> out;
  out.reserve(by_rel.size());
  for (auto &[rel, w] : by_rel) out.push_back(std::move(w));
  return out;
}

class OpamSource final : public Source {
 public:
  explicit OpamSource(std::string upstream) : upstream_(std::move(upstream)) {}

  std::string name() const override { return "opam"; }

  Result<Snapshot> snapshot(SnapshotContext &ctx) override {
    Snapshot snap;
    DEPOT_ASSIGN_OR_RETURN(auto repo, fetch_relative(ctx, upstream_, "repo", false));
    DEPOT_ASSIGN_OR_RETURN(auto index, fetch_relative(ctx, upstream_, "index.tar.gz", false));
    DEPOT_ASSIGN_OR_RETURN(auto urls, fetch_relative(ctx, upstream_, "urls.txt", true));
    if (!repo || !index)
      return make_error(ErrorCode::kNotFound, upstream_ + ": no opam repository");
    DEPOT_TRY(check_repo(ctx, *repo));
    DEPOT_ASSIGN_OR_RETURN(auto index_bytes, index->index.content->open());
    DEPOT_ASSIGN_OR_RETURN(auto packages, read_index(*index_bytes, index->url));
    DEPOT_ASSIGN_OR_RETURN(auto wanted, collect(packages, index->url));
    ctx.logger().info("opam.index", {{"packages", static_cast<uint64_t>(packages.size())},
                                     {"archives", static_cast<uint64_t>(wanted.size())}});
    DEPOT_TRY(add_archives(ctx, wanted, snap));
    if (urls) snap.entries.push_back(urls->entry(Stage::kIndex));
    snap.entries.push_back(repo->entry(Stage::kRoot));
    snap.entries.push_back(index->entry(Stage::kRoot));
    return snap;
  }

 private:
  // The mirror keeps the upstream's `repo` byte for byte; opam clients find
  // archives in the mirror only when it names the relative archive mirror
  // "cache".
  Status check_repo(SnapshotContext &ctx, const FetchedFile &repo) {
    DEPOT_ASSIGN_OR_RETURN(std::string text,
                           read_content(*repo.index.content, repo.url, kMaxRepoFile));
    DEPOT_ASSIGN_OR_RETURN(File f, parse_file(text, repo.url));
    std::vector<std::string> mirrors;
    if (const Value *v = f.field("archive-mirrors")) {
      DEPOT_ASSIGN_OR_RETURN(mirrors, string_list(*v, repo.url, "archive-mirrors"));
    }
    if (std::find(mirrors.begin(), mirrors.end(), "cache") == mirrors.end()) {
      ctx.logger().warn("opam.no_archive_mirror",
                        {{"url", repo.url},
                         {"reason",
                          "repo has no archive-mirrors: \"cache\"; clients of the "
                          "mirror will fetch archives from their source hosts"}});
    }
    return ok_status();
  }

  // Archives not mirrored yet are fetched in concurrent rounds: every one from the upstream
  // cache, then those missing there from their first http(s) src or mirror, then the next.
  Status add_archives(SnapshotContext &ctx, const std::vector<Wanted> &wanted, Snapshot &snap) {
    std::vector<Pending> todo;
    for (const Wanted &w : wanted) {
      DEPOT_ASSIGN_OR_RETURN(RelPath rel, RelPath::parse(w.rel));
      const std::string cache_url = join_url(upstream_, w.rel);
      if (ctx.committed(rel)) {  // verified when it was fetched; the engine checks the record
        snap.entries.push_back(blob_entry(std::move(rel), std::nullopt, w.digests, cache_url));
        continue;
      }
      todo.push_back(Pending{
          &w, std::move(rel), cache_url, 0,
          make_error(ErrorCode::kNotFound,
                     "not in the upstream cache (" + cache_url + ") and no src to fetch it from")});
    }
    std::vector<Error> failures;
    for (bool from_cache = true; !todo.empty(); from_cache = false) {
      std::vector<IndexRequest> requests;
      for (const Pending &p : todo) {
        requests.push_back(IndexRequest{p.url, p.rel, from_cache, p.wanted->digests});
      }
      std::vector<IndexResult> got = ctx.fetch_indexes(requests);
      std::vector<Pending> next;
      for (size_t i = 0; i < todo.size(); ++i) {
        Pending &p = todo[i];
        if (got[i].ok() && *got[i]) {
          auto entry = archive_entry(p, **got[i]);
          if (entry.ok()) snap.entries.push_back(std::move(entry).value());
          if (!entry.ok()) failures.push_back(entry.error());
          continue;
        }
        if (from_cache && !got[i].ok()) {  // the cache failed other than by a 404
          failures.push_back(wrap(p, got[i].error()));
          continue;
        }
        if (!got[i].ok()) p.last = got[i].error();
        if (next_source(p)) {
          next.push_back(std::move(p));
        } else {
          failures.push_back(wrap(p, p.last));
        }
      }
      todo = std::move(next);
    }
    for (const Error &e : failures)
      ctx.logger().warn("opam.archive_failed", {{"reason", e.message}});
    if (failures.empty()) return ok_status();
    std::string msg = std::to_string(failures.size()) + " archive(s) failed: ";
    for (size_t i = 0; i < failures.size() && i < kFailuresShown; ++i) {
      msg += (i ? "; " : "") + failures[i].message;
    }
    if (failures.size() > kFailuresShown) msg += "; ...";
    return make_error(failures.front().code, msg, failures.front().transient);
  }

  static Error wrap(const Pending &p, const Error &e) {
    return make_error(e.code, p.wanted->what + ": " + e.message, e.transient);
  }

  // Moves `p` to its next http(s) source; false when none is left.
  static bool next_source(Pending &p) {
    const std::vector<std::string> &urls = p.wanted->urls;
    for (; p.next < urls.size(); ++p.next) {
      const std::string &u = urls[p.next];
      if (is_http_url(u)) {
        p.url = u;
        ++p.next;
        return true;
      }
      p.last = make_error(ErrorCode::kUnsafePath, "refusing src URL " + quote_untrusted(u) +
                                                      " (only http and https are fetched)");
    }
    return false;
  }

  // The entry of an archive fetched from p.url, every listed checksum verified.
  Result<Entry> archive_entry(const Pending &p, const FetchedIndex &f) {
    const Digests &want = p.wanted->digests;
    Digests actual = f.digests;
    if (!want.md5.empty() && actual.md5.empty()) {
      // The downloader skips md5 when a SHA-2 digest is verified; opam checks every one.
      auto in = f.content->open();
      if (!in.ok()) return wrap(p, in.error());
      auto md5 = hash_source(**in, digest_bit(DigestAlgo::kMd5));
      if (!md5.ok()) return wrap(p, md5.error());
      actual.md5 = md5->first.md5;
    }
    if (auto st = want.verify(actual, p.url); !st.ok()) return wrap(p, st.error());
    Entry e = index_entry(p.rel, p.url, Stage::kBlob, f);
    for (int i = 0; i < kDigestAlgoCount; ++i) {
      auto a = static_cast<DigestAlgo>(i);
      if (e.digests.get(a).empty()) {
        e.digests.get(a) = actual.get(a).empty() ? want.get(a) : actual.get(a);
      }
    }
    return e;
  }

  std::string upstream_;
};

}  // namespace

Result<std::unique_ptr<Source>> make_opam_source(const SourceOptions &opts) {
  std::string up = opts.upstream;
  while (up.ends_with('/')) up.pop_back();
  if (!is_http_url(up)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "opam: the upstream must be an http(s) opam repository URL");
  }
  return std::unique_ptr<Source>(std::make_unique<OpamSource>(std::move(up)));
}

}  // namespace depot::opam

#include "sources/crates/crates_source.h"

#include <set>

#include "core/file_io.h"
#include "core/text.h"
#include "sources/crates/git_index.h"
#include "sources/crates/index_file.h"
#include "transfer/http_util.h"

namespace depot::crates {
namespace {

constexpr uint64_t kMaxIndexFile = 64ull << 20;

class CratesSource final : public Source {
 public:
  CratesSource(std::string upstream, std::string base_url, std::vector<std::string> crates,
               bool with_deps, std::string git_index)
      : upstream_(std::move(upstream)),
        base_url_(std::move(base_url)),
        crates_(std::move(crates)),
        with_deps_(with_deps),
        git_index_(std::move(git_index)) {}

  std::string name() const override { return "crates"; }

  Result<Snapshot> snapshot(SnapshotContext& ctx) override {
    Snapshot snap;
    DEPOT_ASSIGN_OR_RETURN(std::string dl, upstream_dl(ctx));
    if (!git_index_.empty()) {  // no list: every crate the git index names
      DEPOT_ASSIGN_OR_RETURN(auto state, ctx.state_dir());
      DEPOT_ASSIGN_OR_RETURN(
          crates_, enumerate_git_index(git_index_, state / "crates-git-index", ctx.logger()));
    }
    BlobCollector blobs(snap.entries);
    std::set<std::string> seen;
    std::vector<std::string> level;  // each crate once: one index file, one transaction
    for (const auto& c : crates_) {
      if (seen.insert(ascii_lower(c)).second) level.push_back(c);
    }
    while (!level.empty()) {  // breadth first: each level's index files fetched concurrently
      std::vector<std::string> next;
      DEPOT_ASSIGN_OR_RETURN(auto deps, add_crates(ctx, level, dl, blobs, snap));
      for (auto& d : deps) {
        if (with_deps_ && seen.insert(ascii_lower(d)).second) next.push_back(std::move(d));
      }
      level = std::move(next);
    }
    ctx.logger().info("crates.index", {{"crates", static_cast<uint64_t>(seen.size())},
                                       {"files", static_cast<uint64_t>(blobs.size())}});
    std::string config = "{\"dl\":\"" + base_url_ + "/crates/{crate}/{crate}-{version}.crate\"}\n";
    DEPOT_ASSIGN_OR_RETURN(Entry root,
                           generated_entry(ctx, std::move(config), "index/config.json", Stage::kRoot));
    snap.entries.push_back(std::move(root));
    return snap;
  }

 private:
  Result<std::string> upstream_dl(SnapshotContext& ctx) {
    std::string url = join_url(upstream_, "config.json");
    // Fetched under a name no entry uses, so it is never published: the mirror writes its own.
    DEPOT_ASSIGN_OR_RETURN(RelPath private_path, RelPath::parse("index/.upstream-config.json"));
    DEPOT_ASSIGN_OR_RETURN(auto fetched, ctx.fetch_index(url, private_path, false));
    if (!fetched) return make_error(ErrorCode::kNotFound, url + ": not found");
    DEPOT_ASSIGN_OR_RETURN(std::string text, read_content(*fetched->content, url, 1 << 20));
    return parse_config_dl(text, url);
  }

  // Adds the index files of `crates` and every version's .crate; returns the crates they
  // depend on in this registry.
  Result<std::vector<std::string>> add_crates(SnapshotContext& ctx,
                                              const std::vector<std::string>& crates,
                                              const std::string& dl, BlobCollector& blobs,
                                              Snapshot& snap) {
    std::vector<IndexRequest> requests;
    requests.reserve(crates.size());
    for (const auto& crate : crates) {
      DEPOT_ASSIGN_OR_RETURN(std::string path, index_path(crate));
      DEPOT_ASSIGN_OR_RETURN(RelPath index_rel, RelPath::parse("index/" + path));
      requests.push_back(IndexRequest{join_url(upstream_, path), std::move(index_rel), true});
    }
    std::vector<IndexResult> fetched = ctx.fetch_indexes(requests);
    std::vector<std::string> deps;
    for (size_t i = 0; i < crates.size(); ++i) {
      DEPOT_TRY(add_crate(crates[i], requests[i], fetched[i], dl, blobs, snap, deps));
    }
    return deps;
  }

  // Adds the index file `req` of `crate`, fetched as `fetched`, and its .crate files; appends
  // the crates it depends on to `deps`.
  Status add_crate(const std::string& crate, const IndexRequest& req, IndexResult& fetched,
                   const std::string& dl, BlobCollector& blobs, Snapshot& snap,
                   std::vector<std::string>& deps) {
    if (!fetched.ok()) return fetched.error();
    if (!*fetched) {
      return make_error(ErrorCode::kNotFound,
                        "crate " + quote_untrusted(crate) + " not found upstream: " + req.url);
    }
    const std::string& url = req.url;
    DEPOT_ASSIGN_OR_RETURN(std::string text, read_content(*(*fetched)->content, url, kMaxIndexFile));
    DEPOT_ASSIGN_OR_RETURN(auto versions, parse_index_file(text, crate, url));
    for (const Version& v : versions) {
      std::string file = "crates/" + v.name + "/" + v.name + "-" + v.vers + ".crate";
      DEPOT_ASSIGN_OR_RETURN(RelPath rel, RelPath::parse(file));
      Digests d;
      d.sha256 = v.cksum;
      DEPOT_TRY(blobs.add(blob_entry(std::move(rel), std::nullopt, d, crate_url(dl, v)), url));
      for (const Dependency& dep : v.deps) {
        if (dep.registry.empty()) deps.push_back(dep.crate);
      }
    }
    snap.entries.push_back(index_entry(req.path, url, Stage::kIndex, **fetched));
    return ok_status();
  }

  std::string upstream_;
  std::string base_url_;
  std::vector<std::string> crates_;
  bool with_deps_;
  std::string git_index_;  // set when crates_ is to be enumerated from this git index
};

}  // namespace

Result<std::unique_ptr<Source>> make_crates_source(const SourceOptions& opts) {
  if (opts.upstream.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "crates: an upstream index URL is required");
  }
  std::string base = opts.value("base-url");
  while (base.ends_with('/')) base.pop_back();
  if (!is_http_url(base)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "crates: --base-url (the http(s) URL the mirror is served at) is required");
  }
  std::vector<std::string> crates = opts.list("crate");
  std::string git_index;
  if (crates.empty()) {
    git_index = opts.value("git-index");
    if (git_index.empty()) git_index = kCratesIoGitIndex;
  }
  for (const auto& c : crates) {
    if (!valid_crate_name(c)) {
      return make_error(ErrorCode::kInvalidArgument, "crates: bad crate name " + quote_untrusted(c));
    }
  }
  return std::unique_ptr<Source>(std::make_unique<CratesSource>(
      opts.upstream, std::move(base), std::move(crates), opts.value("with-deps") == "yes",
      std::move(git_index)));
}

}  // namespace depot::crates

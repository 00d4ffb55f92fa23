#include "sources/npm/npm_source.h"

#include <set>

#include "core/file_io.h"
#include "core/text.h"
#include "sources/npm/packument.h"
#include "transfer/http_util.h"

namespace depot::npm {
namespace {


constexpr uint64_t kMaxPackument = 256ull << 20;

class NpmSource final : public Source {
 public:
  NpmSource(std::string upstream, std::string base_url, std::vector<std::string> packages,
            bool with_deps, size_t latest)
      : upstream_(std::move(upstream)),
        base_url_(std::move(base_url)),
        packages_(std::move(packages)),
        with_deps_(with_deps),
        latest_(latest) {}

  std::string name() const override { return "npm"; }

  Result<Snapshot> snapshot(SnapshotContext& ctx) override {
    Snapshot snap;
    BlobCollector blobs(snap.entries);
    std::set<std::string> seen(packages_.begin(), packages_.end());
    std::vector<std::string> level = packages_;
    while (!level.empty()) {  // breadth first: each level's packuments fetched concurrently
      DEPOT_ASSIGN_OR_RETURN(auto deps, add_packages(ctx, level, blobs, snap));
      level.clear();
      for (auto& d : deps) {
        if (with_deps_ && seen.insert(d).second) level.push_back(std::move(d));
      }
    }
    ctx.logger().info("npm.packuments", {{"packages", static_cast<uint64_t>(seen.size())},
                                         {"tarballs", static_cast<uint64_t>(blobs.size())}});
    return snap;
  }

 private:
  // Adds the packuments of `packages` and their tarballs; returns the packages they depend on.
  Result<std::vector<std::string>> add_packages(SnapshotContext& ctx,
                                                const std::vector<std::string>& packages,
                                                BlobCollector& blobs,
                                                Snapshot& snap) {
    std::vector<IndexRequest> requests;
    requests.reserve(packages.size());
    for (const std::string& package : packages) {
      DEPOT_ASSIGN_OR_RETURN(RelPath rel, RelPath::parse(".upstream/" + package + ".json"));
      requests.push_back(IndexRequest{join_url(upstream_, packument_url_path(package)),
                                      std::move(rel),
                                      true,
                                      {},
                                      {},
                                      "application/json"});
    }
    std::vector<IndexResult> fetched = ctx.fetch_indexes(requests);
    std::vector<std::string> deps;
    for (size_t i = 0; i < packages.size(); ++i) {
      if (!fetched[i].ok()) return fetched[i].error();
      DEPOT_ASSIGN_OR_RETURN(
          auto more, add_package(ctx, packages[i], requests[i], *fetched[i], blobs, snap));
      deps.insert(deps.end(), more.begin(), more.end());
    }
    return deps;
  }

  // Adds the packument of `package` fetched by `req` (upstream copy, full and abbreviated forms)
  // and the tarball of each version kept; returns the packages those versions depend on.
  Result<std::vector<std::string>> add_package(SnapshotContext& ctx, const std::string& package,
                                               const IndexRequest& req,
                                               const std::optional<FetchedIndex>& fetched,
                                               BlobCollector& blobs,
                                               Snapshot& snap) {
    const std::string& url = req.url;
    const RelPath& upstream_rel = req.path;
    if (!fetched) {
      return make_error(ErrorCode::kNotFound,
                        "npm: package " + quote_untrusted(package) + " not found upstream: " + url);
    }
    DEPOT_ASSIGN_OR_RETURN(std::string text, read_content(*fetched->content, url, kMaxPackument));
    DEPOT_ASSIGN_OR_RETURN(Packument doc, Packument::parse(text, package, url));
    if (latest_ > 0) doc.keep_versions(latest_versions(doc, latest_));
    std::vector<std::string> deps;
    for (const VersionInfo& v : doc.versions()) {
      DEPOT_ASSIGN_OR_RETURN(RelPath rel, RelPath::parse(package + "/-/" + v.tarball.file));
      DEPOT_TRY(blobs.add(
          blob_entry(std::move(rel), std::nullopt, v.tarball.digests, v.tarball.url), url));
      deps.insert(deps.end(), v.deps.begin(), v.deps.end());
    }
    doc.rewrite_tarballs([&](std::string_view, const Tarball& t) {
      return base_url_ + "/" + package + "/-/" + t.file;
    });
    DEPOT_ASSIGN_OR_RETURN(Entry full, generated_entry(ctx, doc.full_json(),
                                                       package + "/index.json", Stage::kIndex));
    DEPOT_ASSIGN_OR_RETURN(Entry abbrev, generated_entry(ctx, doc.abbreviated_json(),
                                                         package + "/index.abbrev.json",
                                                         Stage::kIndex));
    snap.entries.push_back(std::move(full));
    snap.entries.push_back(std::move(abbrev));
    snap.entries.push_back(index_entry(upstream_rel, url, Stage::kIndex, *fetched));
    return deps;
  }

  std::string upstream_;
  std::string base_url_;
  std::vector<std::string> packages_;
  bool with_deps_;
  size_t latest_;  // 0: every version
};

Result<size_t> parse_versions(const std::string& value) {
  if (value.empty() || value == "all") return size_t{0};
  std::optional<uint64_t> n;
  if (value.starts_with("latest-")) n = parse_u64(std::string_view(value).substr(7));
  if (!n || *n == 0 || *n > SIZE_MAX) {
    return make_error(
        ErrorCode::kInvalidArgument,
        "npm: --versions takes latest-N (N >= 1) or all, not " + quote_untrusted(value));
  }
  return static_cast<size_t>(*n);
}

}  // namespace

Result<std::unique_ptr<Source>> make_npm_source(const SourceOptions& opts) {
  std::string upstream = opts.upstream;
  if (!is_http_url(upstream)) {
    return make_error(
        ErrorCode::kInvalidArgument,
        "npm: the upstream must be an http(s) registry URL, got " + quote_untrusted(upstream));
  }
  while (upstream.ends_with('/')) upstream.pop_back();
  std::string base = opts.value("base-url");
  while (base.ends_with('/')) base.pop_back();
  if (!is_http_url(base)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "npm: --base-url (the http(s) URL the mirror is served "
                      "at) is required");
  }
  std::set<std::string> packages;
  for (const auto& p : opts.list("package")) {
    if (!valid_package_name(p)) {
      return make_error(ErrorCode::kInvalidArgument, "npm: bad package name " + quote_untrusted(p));
    }
    packages.insert(p);
  }
  if (packages.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "npm: name the packages with --package or "
                      "--packages-from (mirroring the "
                      "whole registry is not supported)");
  }
  DEPOT_ASSIGN_OR_RETURN(size_t latest, parse_versions(opts.value("versions")));
  return std::unique_ptr<Source>(
      std::make_unique<NpmSource>(std::move(upstream), std::move(base),
                                  std::vector<std::string>(packages.begin(), packages.end()),
                                  opts.value("with-deps") == "yes", latest));
}

}  // namespace depot::npm

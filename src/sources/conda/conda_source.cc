// conda: one subdir (upstream URL points at it), or a channel root with --subdir a,b.
// Packages are blobs; repodata.json variants are indexes; repodata.json commits last.

#include "sources/conda/conda_source.h"

#include <set>

#include "sources/conda/repodata.h"

namespace depot::conda {
namespace {

// Variants mirrored when upstream offers them (a 404 means not offered).
constexpr const char* kOptionalIndexes[] = {"repodata.json.bz2", "repodata.json.zst",
                                            "current_repodata.json"};

class CondaSource final : public Source {
 public:
  CondaSource(std::string upstream, std::vector<std::string> subdirs)
      : upstream_(std::move(upstream)), subdirs_(std::move(subdirs)) {}

  std::string name() const override { return "conda"; }

  Result<Snapshot> snapshot(SnapshotContext& ctx) override {
    Snapshot snap;
    if (subdirs_.empty()) {
      DEPOT_TRY(snapshot_subdir(ctx, upstream_, "", snap));
    } else {
      for (const auto& sd : subdirs_) {
        DEPOT_TRY(snapshot_subdir(ctx, join_url(upstream_, sd), sd + "/", snap));
      }
      auto path = RelPath::parse("channeldata.json");
      DEPOT_ASSIGN_OR_RETURN(auto fetched,
                             ctx.fetch_index(join_url(upstream_, "channeldata.json"), *path, true));
      if (fetched) {
        snap.entries.push_back(index_entry(*path, join_url(upstream_, "channeldata.json"),
                                           Stage::kRoot, *fetched));
      }
    }
    return snap;
  }

 private:
  Status snapshot_subdir(SnapshotContext& ctx, const std::string& url, const std::string& prefix,
                         Snapshot& snap) {
    DEPOT_ASSIGN_OR_RETURN(RelPath root_path, RelPath::parse(prefix + "repodata.json"));
    std::string root_url = join_url(url, "repodata.json");
    DEPOT_ASSIGN_OR_RETURN(auto fetched, ctx.fetch_index(root_url, root_path, false));
    if (!fetched) return make_error(ErrorCode::kNotFound, root_url + ": not found");
    DEPOT_ASSIGN_OR_RETURN(auto root_in, fetched->content->open());
    DEPOT_ASSIGN_OR_RETURN(Repodata repodata, parse_repodata(*root_in, root_url));
    std::set<std::string> names;
    std::string base = repodata.base_url.empty() ? url : repodata.base_url;
    auto add_packages = [&](const Repodata& rd) -> Status {
      for (const auto& rec : rd.packages) {
        if (!names.insert(rec.filename).second) continue;
        DEPOT_ASSIGN_OR_RETURN(RelPath p, RelPath::parse(prefix + rec.filename));
        snap.entries.push_back(blob_entry(std::move(p), rec.size, rec.digests,
                                          join_url(base, escape_url_segment(rec.filename))));
      }
      return ok_status();
    };
    DEPOT_TRY(add_packages(repodata));
    ctx.logger().info("conda.repodata", {{"url", root_url},
                                         {"packages", static_cast<uint64_t>(names.size())},
                                         {"unchanged", fetched->unchanged ? "yes" : "no"}});
    for (const char* variant : kOptionalIndexes) {
      DEPOT_ASSIGN_OR_RETURN(RelPath vpath, RelPath::parse(prefix + variant));
      std::string vurl = join_url(url, variant);
      DEPOT_ASSIGN_OR_RETURN(auto vf, ctx.fetch_index(vurl, vpath, true));
      if (!vf) continue;
      if (std::string_view(variant) == "current_repodata.json") {
        // Its packages must be present too; normally a subset of repodata.json.
        DEPOT_ASSIGN_OR_RETURN(auto in, vf->content->open());
        DEPOT_ASSIGN_OR_RETURN(Repodata current, parse_repodata(*in, vurl));
        DEPOT_TRY(add_packages(current));
      }
      snap.entries.push_back(index_entry(vpath, vurl, Stage::kIndex, *vf));
    }
    snap.entries.push_back(index_entry(root_path, root_url, Stage::kRoot, *fetched));
    return ok_status();
  }

  std::string upstream_;
  std::vector<std::string> subdirs_;
};

}  // namespace

Result<std::unique_ptr<Source>> make_conda_source(const SourceOptions& opts) {
  if (opts.upstream.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "conda: an upstream URL is required");
  }
  std::vector<std::string> subdirs = opts.list("subdir");
  for (const auto& sd : subdirs) {
    auto p = RelPath::parse(sd);
    if (!p.ok() || sd.find('/') != std::string::npos) {
      return make_error(ErrorCode::kInvalidArgument, "conda: bad --subdir " + quote_untrusted(sd));
    }
  }
  return std::unique_ptr<Source>(std::make_unique<CondaSource>(opts.upstream, std::move(subdirs)));
}

}  // namespace depot::conda

#include "sources/rustup/rustup_source.h"

#include "core/file_io.h"
#include "core/text.h"
#include "sources/rustup/manifest.h"
#include "transfer/http_util.h"

namespace depot::rustup {
namespace {

constexpr uint64_t kMaxManifest = 64ull << 20;
constexpr uint64_t kMaxSmallFile = 1ull << 20;
constexpr int kMaxHistoryDays = 3660;

class RustupSource final : public Source {
public:
  RustupSource(std::string upstream, std::vector<std::string> channels,
               std::vector<std::string> targets, int history_days,
               bool rustup_init)
      : upstream_(std::move(upstream)), channels_(std::move(channels)),
        targets_(std::move(targets)), history_days_(history_days),
        rustup_init_(rustup_init) {}

  std::string name() const override { return "rustup"; }

  Result<Snapshot> snapshot(SnapshotContext &ctx) override {
    Snapshot snap;
    std::vector<Entry> roots;
    BlobCollector blobs(snap.entries);
    size_t manifests = 0;
    for (const std::string &channel : channels_) {
      const std::string file = "channel-rust-" + channel + ".toml";
      DEPOT_ASSIGN_OR_RETURN(
          std::string date,
          add_manifest(ctx, "dist/" + file, false, blobs, roots));
      ++manifests;
      for (int day = 0; day < history_days_; ++day) {
        std::string rel = "dist/" + days_before(date, day) + "/" + file;
        DEPOT_ASSIGN_OR_RETURN(std::string dated,
                               add_manifest(ctx, rel, true, blobs, roots));
        if (!dated.empty())
          ++manifests;
      }
    }
    if (rustup_init_)
      DEPOT_TRY(add_rustup_init(ctx, blobs, snap, roots));
    ctx.logger().info("rustup.manifests",
                      {{"manifests", static_cast<uint64_t>(manifests)},
                       {"files", static_cast<uint64_t>(blobs.size())}});
    for (Entry &e : roots)
      snap.entries.push_back(std::move(e));
    return snap;
  }

private:
  // The digest the .sha256 file at `rel` declares; the file goes to `out` at
  // `stage`. nullopt when `optional` and upstream has none.
  Result<std::optional<std::string>> fetch_sha256(SnapshotContext &ctx,
                                                  const std::string &rel,
                                                  bool optional, Stage stage,
                                                  std::vector<Entry> &out) {
    DEPOT_ASSIGN_OR_RETURN(auto f,
                           fetch_relative(ctx, upstream_, rel, optional));
    if (!f)
      return std::optional<std::string>();
    DEPOT_ASSIGN_OR_RETURN(
        std::string text,
        read_content(*f->index.content, f->url, kMaxSmallFile));
    DEPOT_ASSIGN_OR_RETURN(std::string sha, parse_sha256_file(text, f->url));
    out.push_back(f->entry(stage));
    return std::optional<std::string>(std::move(sha));
  }

  // The manifest at `rel` with its .sha256 and .asc, and every artifact it
  // names; returns its date, or "" when `optional` and upstream has no .sha256
  // for it.
  Result<std::string> add_manifest(SnapshotContext &ctx, const std::string &rel,
                                   bool optional, BlobCollector &blobs,
                                   std::vector<Entry> &roots) {
    std::vector<Entry> sha_entry;
    DEPOT_ASSIGN_OR_RETURN(
        auto sha,
        fetch_sha256(ctx, rel + ".sha256", optional, Stage::kRoot, sha_entry));
    if (!sha)
      return std::string();
    Digests want;
    want.sha256 = *sha;
    DEPOT_ASSIGN_OR_RETURN(auto toml,
                           fetch_relative(ctx, upstream_, rel, false, want));
    if (!toml)
      return make_error(ErrorCode::kNotFound, join_url(upstream_, rel) + ": not found");
    DEPOT_ASSIGN_OR_RETURN(
        std::string text,
        read_content(*toml->index.content, toml->url, kMaxManifest));
    DEPOT_ASSIGN_OR_RETURN(
        ChannelManifest m,
        parse_channel_manifest(text, targets_, upstream_, toml->url));
    for (Artifact &a : m.artifacts) {
      DEPOT_ASSIGN_OR_RETURN(RelPath path, RelPath::parse(a.path));
      Digests d;
      d.sha256 = std::move(a.sha256);
      std::string url = join_url(upstream_, escape_url_path(a.path));
      DEPOT_TRY(blobs.add(blob_entry(std::move(path), std::nullopt,
                                     std::move(d), std::move(url)),
                          toml->url));
    }
    DEPOT_ASSIGN_OR_RETURN(auto asc,
                           fetch_relative(ctx, upstream_, rel + ".asc", true));
    roots.push_back(toml->entry(Stage::kRoot));
    if (asc)
      roots.push_back(asc->entry(Stage::kRoot));
    roots.push_back(std::move(sha_entry.front()));
    return std::move(m.date);
  }

  // rustup/release-stable.toml and, per target upstream builds rustup-init for,
  // the current and the archived rustup-init with their .sha256 files.
  Status add_rustup_init(SnapshotContext &ctx, BlobCollector &blobs,
                         Snapshot &snap, std::vector<Entry> &roots) {
    DEPOT_ASSIGN_OR_RETURN(
        auto release,
        fetch_relative(ctx, upstream_, "rustup/release-stable.toml", false));
    if (!release)
      return make_error(ErrorCode::kNotFound,
                        join_url(upstream_, "rustup/release-stable.toml") + ": not found");
    DEPOT_ASSIGN_OR_RETURN(
        std::string text,
        read_content(*release->index.content, release->url, kMaxSmallFile));
    DEPOT_ASSIGN_OR_RETURN(std::string version,
                           parse_release_version(text, release->url));
    for (const std::string &target : targets_) {
      const std::string exe = target.find("windows") != std::string::npos
                                  ? "rustup-init.exe"
                                  : "rustup-init";
      const std::string current = "rustup/dist/" + target + "/" + exe;
      DEPOT_ASSIGN_OR_RETURN(auto sha, fetch_sha256(ctx, current + ".sha256",
                                                    true, Stage::kRoot, roots));
      if (!sha) {
        ctx.logger().info("rustup.no_rustup_init", {{"target", target}});
        continue;
      }
      DEPOT_TRY(add_binary(current, *sha, blobs, release->url));
      const std::string archived =
          "rustup/archive/" + version + "/" + target + "/" + exe;
      DEPOT_ASSIGN_OR_RETURN(auto archived_sha,
                             fetch_sha256(ctx, archived + ".sha256", true,
                                          Stage::kIndex, snap.entries));
      DEPOT_TRY(add_binary(archived, archived_sha ? *archived_sha : *sha, blobs,
                           release->url));
    }
    roots.push_back(release->entry(Stage::kRoot));
    return ok_status();
  }

  Status add_binary(const std::string &rel, const std::string &sha256,
                    BlobCollector &blobs, const std::string &where) {
    DEPOT_ASSIGN_OR_RETURN(RelPath path, RelPath::parse(rel));
    Digests d;
    d.sha256 = sha256;
    return blobs.add(blob_entry(std::move(path), std::nullopt, std::move(d),
                                join_url(upstream_, escape_url_path(rel))),
                     where);
  }

  std::string upstream_;
  std::vector<std::string> channels_, targets_;
  int history_days_;
  bool rustup_init_;
};

Status check_names(const std::vector<std::string> &names, const char *flag) {
  if (names.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      std::string("rustup: ") + flag + " is required");
  }
  for (const auto &n : names) {
    if (!valid_channel(n)) {
      return make_error(ErrorCode::kInvalidArgument,
                        std::string("rustup: bad ") + flag + " value " +
                            quote_untrusted(n));
    }
  }
  return ok_status();
}

} // namespace

Result<std::unique_ptr<Source>> make_rustup_source(const SourceOptions &opts) {
  std::string upstream = opts.upstream;
  while (upstream.ends_with('/'))
    upstream.pop_back();
  if (!is_http_url(upstream)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "rustup: the upstream must be an http(s) URL such as "
                      "https://static.rust-lang.org");
  }
  std::vector<std::string> channels = opts.list("channel"),
                           targets = opts.list("target");
  DEPOT_TRY(check_names(channels, "--channel"));
  DEPOT_TRY(check_names(targets, "--target"));
  int days = 0;
  if (std::string v = opts.value("history-days"); !v.empty()) {
    auto n = parse_u64(v);
    if (!n || *n > static_cast<uint64_t>(kMaxHistoryDays)) {
      return make_error(
          ErrorCode::kInvalidArgument,
          "rustup: --history-days takes a number of days from 0 to " +
              std::to_string(kMaxHistoryDays) + ", not " + quote_untrusted(v));
    }
    days = static_cast<int>(*n);
  }
  return std::unique_ptr<Source>(std::make_unique<RustupSource>(
      std::move(upstream), std::move(channels), std::move(targets), days,
      opts.value("no-rustup-init") != "yes"));
}

} // namespace depot::rustup

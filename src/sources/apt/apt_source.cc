// apt: for each distribution, the signed root (InRelease, or Release + Release.gpg) commits
// last; the index files it lists for the chosen components and architectures commit before
// it, each checked against the root's size and SHA256, with by-hash copies when the root asks
// for them; the pool files the Packages/Sources indexes name are blobs.

#include "sources/apt/apt_source.h"

#include <set>

#include "core/file_io.h"
#include "sources/gpgv.h"
#include "sources/apt/packages.h"
#include "sources/apt/release.h"

namespace depot::apt {
namespace {

namespace fs = std::filesystem;

// Lower is parsed first: cheapest to decompress.
int parse_preference(std::string_view name) {
  static constexpr std::string_view kOrder[] = {"", ".gz", ".zst", ".lz4", ".xz", ".bz2", ".lzma"};
  for (size_t i = 0; i < std::size(kOrder); ++i) {
    std::string_view ext = kOrder[i];
    if (ext.empty() ? name.ends_with("/Packages") || name.ends_with("/Sources")
                    : name.ends_with(ext)) {
      return static_cast<int>(i);
    }
  }
  return 100;
}

bool same_files(const Release& a, const Release& b) {
  if (a.files.size() != b.files.size()) return false;
  for (size_t i = 0; i < a.files.size(); ++i) {
    if (a.files[i].path != b.files[i].path || a.files[i].size != b.files[i].size ||
        !a.files[i].digests.matches(b.files[i].digests)) {
      return false;
    }
  }
  return true;
}

class AptSource final : public Source {
 public:
  AptSource(std::string upstream, std::vector<std::string> dists, Selection sel,
            std::string keyring, bool allow_older)
      : upstream_(std::move(upstream)),
        dists_(std::move(dists)),
        sel_(std::move(sel)),
        keyring_(std::move(keyring)),
        allow_older_(allow_older) {}

  std::string name() const override { return "apt"; }
  // Everything under dists/: by-hash files first of all; dropped variants are harmless since
  // clients fetch only what a root lists.
  bool keeps_superseded(const RelPath& path) const override {
    return path.str().starts_with("dists/");
  }

  Result<Snapshot> snapshot(SnapshotContext& ctx) override {
    if (!keyring_.empty()) {
      DEPOT_ASSIGN_OR_RETURN(fs::path scratch, ctx.scratch_dir());
      DEPOT_ASSIGN_OR_RETURN(SignatureVerifier v, SignatureVerifier::open(keyring_, scratch / "gpgv"));
      verifier_.emplace(std::move(v));
    }
    Snapshot snap;
    std::vector<Entry> roots;
    PoolCollector pool(upstream_, snap.entries);
    for (const auto& dist : dists_) DEPOT_TRY(snapshot_dist(ctx, dist, pool, snap, roots));
    for (auto& r : roots) snap.entries.push_back(std::move(r));
    return snap;
  }

 private:
  Result<std::optional<FetchedFile>> fetch(SnapshotContext& ctx, const std::string& rel,
                                           bool optional, const Digests& expected = {},
                                           std::optional<uint64_t> size = {}) {
    return fetch_relative(ctx, upstream_, rel, optional, expected, size);
  }

  // Fetches and authenticates the root of `dist`; returns the parsed Release.
  Result<Release> fetch_root(SnapshotContext& ctx, const std::string& dir, std::vector<Entry>& roots) {
    DEPOT_ASSIGN_OR_RETURN(auto inrelease, fetch(ctx, dir + "InRelease", true));
    DEPOT_ASSIGN_OR_RETURN(auto release, fetch(ctx, dir + "Release", inrelease.has_value()));
    DEPOT_ASSIGN_OR_RETURN(auto release_gpg, fetch(ctx, dir + "Release.gpg", true));
    std::optional<Release> from_inrelease, from_release;
    if (inrelease) {
      std::string text;
      DEPOT_ASSIGN_OR_RETURN(std::string raw, read_content(*inrelease->index.content, inrelease->url));
      if (verifier_) {
        DEPOT_ASSIGN_OR_RETURN(text, verifier_->verify_clearsigned(raw, inrelease->url));
      } else {
        DEPOT_ASSIGN_OR_RETURN(text, clearsigned_text(raw, inrelease->url));
      }
      DEPOT_ASSIGN_OR_RETURN(Release r, parse_release(text, inrelease->url));
      from_inrelease = std::move(r);
    }
    if (release) {
      DEPOT_ASSIGN_OR_RETURN(std::string raw, read_content(*release->index.content, release->url));
      if (verifier_) {
        if (!release_gpg) {
          if (!inrelease) {
            return make_error(ErrorCode::kSignature,
                              release->url + ": unsigned (no InRelease, no Release.gpg)");
          }
        } else {
          DEPOT_ASSIGN_OR_RETURN(std::string sig,
                                 read_content(*release_gpg->index.content, release_gpg->url));
          DEPOT_TRY(verifier_->verify_detached(raw, sig, release_gpg->url));
        }
      }
      DEPOT_ASSIGN_OR_RETURN(Release r, parse_release(raw, release->url));
      from_release = std::move(r);
    }
    if (from_inrelease && from_release && !same_files(*from_inrelease, *from_release)) {
      return make_error(ErrorCode::kParse, release->url + " and " + inrelease->url +
                                               " list different files (upstream mid-update?)",
                        true);
    }
    const Release& fresh = from_inrelease ? *from_inrelease : *from_release;
    DEPOT_TRY(refuse_older(ctx, dir, fresh, inrelease ? inrelease->url : release->url));
    // Release, Release.gpg, InRelease: the order the root stage commits them in.
    for (auto* f : {&release, &release_gpg, &inrelease}) {
      if (*f) roots.push_back((*f)->entry(Stage::kRoot));
    }
    return from_inrelease ? std::move(*from_inrelease) : std::move(*from_release);
  }

  // An upstream root older than the mirrored one (a lagging mirror in a rotation, or a replay
  // of old signed metadata) would take the mirror back in time: refused unless allowed.
  Status refuse_older(SnapshotContext& ctx, const std::string& dir, const Release& fresh,
                      const std::string& url) {
    if (allow_older_) return ok_status();
    auto new_date = parse_release_date(fresh.date);
    if (!new_date) return ok_status();
    for (const char* name : {"InRelease", "Release"}) {
      DEPOT_ASSIGN_OR_RETURN(RelPath path, RelPath::parse(dir + name));
      auto committed = ctx.committed(path);
      if (!committed) continue;
      auto raw = read_content(*committed, path.str());
      if (!raw.ok()) continue;
      std::string text = *raw;
      if (std::string_view(name) == "InRelease") {
        auto signed_text = clearsigned_text(text, path.str());
        if (!signed_text.ok()) continue;
        text = std::move(signed_text).value();
      }
      auto old = parse_release(text, path.str());
      if (!old.ok()) continue;
      auto old_date = parse_release_date(old->date);
      if (old_date && *new_date < *old_date) {
        return make_error(ErrorCode::kRefused,
                          url + ": dated " + fresh.date + ", older than the mirrored " + name +
                              " (" + old->date + "); refusing to go back in time (a lagging "
                              "or replayed upstream); --force accepts it");
      }
      return ok_status();
    }
    return ok_status();
  }

  Status snapshot_dist(SnapshotContext& ctx, const std::string& dist, PoolCollector& pool,
                       Snapshot& snap, std::vector<Entry>& roots) {
    const std::string dir = "dists/" + dist + "/";
    DEPOT_ASSIGN_OR_RETURN(Release rel, fetch_root(ctx, dir, roots));
    for (const auto& c : sel_.components) {
      if (!rel.components.empty() &&
          std::find(rel.components.begin(), rel.components.end(), c) == rel.components.end()) {
        return make_error(ErrorCode::kNotFound, upstream_ + " " + dist + ": no component '" + c + "'");
      }
    }
    for (const auto& a : sel_.archs) {
      if (a != "all" && a != "source" && !rel.architectures.empty() &&
          std::find(rel.architectures.begin(), rel.architectures.end(), a) ==
              rel.architectures.end()) {
        return make_error(ErrorCode::kNotFound, upstream_ + " " + dist + ": no architecture '" + a + "'");
      }
    }

    // Fetch every selected index file; parse one copy of each Packages/Sources content.
    struct Parsed {
      int preference;
      std::shared_ptr<IndexContent> content;
      std::string url;
      IndexKind kind;
    };
    std::map<std::string, Parsed> to_parse;  // "dir/Packages" -> cheapest copy
    std::set<std::string> by_hash_done;
    size_t indexes = 0;
    for (const auto& file : rel.files) {
      IndexKind kind = classify_index(file.path, sel_);
      if (kind == IndexKind::kSkip) continue;
      // Release lists files upstream may not ship (the uncompressed Packages): optional.
      DEPOT_ASSIGN_OR_RETURN(auto f, fetch(ctx, dir + file.path, true, file.digests, file.size));
      if (!f) continue;
      ++indexes;
      if (kind != IndexKind::kOther) {
        std::string key = file.path.substr(0, file.path.rfind('/')) +
                          (kind == IndexKind::kPackages ? "/Packages" : "/Sources");
        int pref = parse_preference(file.path);
        auto it = to_parse.find(key);
        if (it == to_parse.end() || pref < it->second.preference) {
          to_parse[key] = Parsed{pref, f->index.content, f->url, kind};
        }
      }
      if (rel.acquire_by_hash) DEPOT_TRY(add_by_hash(dir, file, *f, by_hash_done, snap));
      snap.entries.push_back(f->entry(Stage::kIndex));
    }
    for (const auto& c : sel_.components.empty() ? rel.components : sel_.components) {
      for (const auto& a : sel_.archs.empty() ? rel.architectures : sel_.archs) {
        if (a == "all" && !rel.architectures.empty() &&
            std::find(rel.architectures.begin(), rel.architectures.end(), "all") ==
                rel.architectures.end()) {
          continue;  // arch:all packages are listed in each architecture's Packages
        }
        std::string key = c + (a == "source" ? "/source/Sources" : "/binary-" + a + "/Packages");
        if (!to_parse.count(key)) {
          return make_error(ErrorCode::kNotFound, join_url(upstream_, dir) + ": no " + key +
                                                      " listed in Release or present upstream");
        }
      }
    }
    size_t before = pool.files();
    for (const auto& [key, p] : to_parse) {
      DEPOT_ASSIGN_OR_RETURN(auto in, p.content->open());
      if (p.kind == IndexKind::kPackages) {
        DEPOT_TRY(pool.add_packages_file(*in, p.url));
      } else {
        DEPOT_TRY(pool.add_sources_file(*in, p.url));
      }
    }
    ctx.logger().info("apt.dist", {{"dist", dist},
                                   {"indexes", static_cast<uint64_t>(indexes)},
                                   {"pool_files", static_cast<uint64_t>(pool.files() - before)},
                                   {"by_hash", rel.acquire_by_hash ? "yes" : "no"}});
    return ok_status();
  }

  // dists/<dist>/<dir>/by-hash/<ALGO>/<hex>: the same bytes under their digest, so a client
  // holding an older or newer root always finds the index it names.
  Status add_by_hash(const std::string& dir, const ReleaseFile& file, const FetchedFile& f,
                     std::set<std::string>& done, Snapshot& snap) {
    size_t slash = file.path.rfind('/');
    std::string parent = dir + (slash == std::string::npos ? "" : file.path.substr(0, slash + 1));
    for (auto [algo, name] : {std::pair{DigestAlgo::kSha256, "SHA256"},
                              std::pair{DigestAlgo::kSha512, "SHA512"}}) {
      const std::string& hex = file.digests.get(algo);
      if (hex.empty()) continue;
      std::string rel = parent + "by-hash/" + name + "/" + hex;
      if (!done.insert(rel).second) continue;
      DEPOT_ASSIGN_OR_RETURN(RelPath path, RelPath::parse(rel));
      Entry e = index_entry(path, join_url(upstream_, escape_url_path(rel)), Stage::kIndex, f.index);
      e.etag.clear();
      e.last_modified.clear();
      snap.entries.push_back(std::move(e));
    }
    return ok_status();
  }

  std::string upstream_;
  std::vector<std::string> dists_;
  Selection sel_;
  std::string keyring_;
  bool allow_older_;
  std::optional<SignatureVerifier> verifier_;
};

}  // namespace

Result<std::unique_ptr<Source>> make_apt_source(const SourceOptions& opts) {
  if (opts.upstream.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "apt: an upstream URL is required");
  }
  std::vector<std::string> dists = opts.list("dist");
  if (dists.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "apt: --dist is required (e.g. bookworm)");
  }
  for (const auto& d : dists) {
    if (!RelPath::parse("dists/" + d + "/InRelease").ok() || d.find("/by-hash") != std::string::npos) {
      return make_error(ErrorCode::kInvalidArgument, "apt: bad --dist " + quote_untrusted(d));
    }
  }
  Selection sel;
  sel.components = opts.list("component");
  sel.archs = opts.list("arch");
  sel.contents = opts.value("contents") == "yes";
  for (const auto& c : sel.components) {
    if (!RelPath::parse(c).ok()) {
      return make_error(ErrorCode::kInvalidArgument, "apt: bad --component " + quote_untrusted(c));
    }
  }
  for (const auto& a : sel.archs) {
    if (a.empty() || a.find_first_of("/ ") != std::string::npos) {
      return make_error(ErrorCode::kInvalidArgument, "apt: bad --arch " + quote_untrusted(a));
    }
  }
  std::string keyring = opts.value("keyring");
  if (!keyring.empty() && !fs::is_regular_file(keyring)) {
    return make_error(ErrorCode::kInvalidArgument, "apt: --keyring " + keyring + ": not a file");
  }
  return std::unique_ptr<Source>(
      std::make_unique<AptSource>(opts.upstream, std::move(dists), std::move(sel),
                                  std::move(keyring), opts.value("allow-older") == "yes"));
}

}  // namespace depot::apt

// yum: repodata/repomd.xml (with .key and .asc when upstream has them) commits last; every
// metadata file it lists commits before it, checked against its checksum and size; the
// packages primary.xml names are blobs, checked against primary's checksum and size. primary is
// parsed while it downloads (PrimaryStream as the fetch's observer).

#include "sources/yum/yum_source.h"

#include <set>
#include <unordered_map>

#include "sources/gpgv.h"
#include "sources/yum/primary_stream.h"
#include "sources/yum/repomd.h"

namespace depot::yum {
namespace {

namespace fs = std::filesystem;

constexpr const char* kRepomd = "repodata/repomd.xml";

class YumSource final : public Source {
 public:
  YumSource(std::string upstream, std::string keyring)
      : upstream_(std::move(upstream)), keyring_(std::move(keyring)) {}

  std::string name() const override { return "yum"; }
  // Superseded metadata stays for the grace period: a client holding the previous repomd.xml
  // still finds the files it names.
  bool keeps_superseded(const RelPath& path) const override {
    return path.str().starts_with("repodata/");
  }

  Result<Snapshot> snapshot(SnapshotContext& ctx) override {
    std::optional<SignatureVerifier> verifier;
    if (!keyring_.empty()) {
      DEPOT_ASSIGN_OR_RETURN(fs::path scratch, ctx.scratch_dir());
      DEPOT_ASSIGN_OR_RETURN(SignatureVerifier v,
                             SignatureVerifier::open(keyring_, scratch / "gpgv"));
      verifier.emplace(std::move(v));
    }
    // repomd.xml first: a failure names the root. Without --keyring nothing ties the .asc
    // fetched next to it; with it, a pair from two upstream generations fails the check.
    DEPOT_ASSIGN_OR_RETURN(auto repomd_entry, fetch(ctx, kRepomd, false));
    DEPOT_ASSIGN_OR_RETURN(auto asc, fetch(ctx, std::string(kRepomd) + ".asc", true));
    DEPOT_ASSIGN_OR_RETURN(auto key, fetch(ctx, std::string(kRepomd) + ".key", true));
    const Entry& root = *repomd_entry;
    if (verifier) {
      if (!asc) {
        return make_error(ErrorCode::kSignature, root.url + ": unsigned (no repomd.xml.asc)");
      }
    }
    DEPOT_ASSIGN_OR_RETURN(std::string xml, read_content(*root.content, root.url));
    if (verifier) {
      DEPOT_ASSIGN_OR_RETURN(std::string sig, read_content(*asc->content, asc->url));
      DEPOT_TRY(verifier->verify_detached(xml, sig, asc->url));
    }
    DEPOT_ASSIGN_OR_RETURN(Repomd repomd, parse_repomd(xml, root.url));

    Snapshot snap;
    std::vector<Entry> indexes;
    std::unordered_map<std::string, const RepomdData*> seen;
    std::optional<PrimaryStream> primary;
    bool primary_streamed = false;  // the whole download went through `primary`
    std::set<std::string> types;
    for (const auto& d : repomd.data) {
      // Clients take the first entry of a type; a second one could name other packages.
      if (!types.insert(d.type).second) {
        return make_error(ErrorCode::kParse,
                          root.url + ": metadata type '" + d.type + "' listed twice");
      }
      auto rel = RelPath::parse(d.href);
      if (!rel.ok() || !rel->str().starts_with("repodata/") || rel->str().starts_with(kRepomd)) {
        return make_error(ErrorCode::kUnsafePath,
                          root.url + ": " + d.type + ": refusing location " +
                              quote_untrusted(d.href) + " (must be a file under repodata/)");
      }
      auto [it, fresh] = seen.try_emplace(rel->str(), &d);
      if (!fresh) {
        return make_error(ErrorCode::kParse, root.url + ": " + rel->str() +
                                                 " is the location of two metadata types");
      }
      ByteSink* observer = nullptr;
      if (d.type == "primary") {
        primary.emplace(join_url(upstream_, escape_url_path(rel->str())), upstream_, d);
        observer = &*primary;
      }
      DEPOT_ASSIGN_OR_RETURN(auto e, fetch(ctx, rel->str(), false, d.checksum, d.size, observer));
      if (observer) {
        // Checked before the other metadata downloads: a bad primary fails the run at once.
        primary_streamed = e->size && primary->bytes_written() == *e->size;
        DEPOT_ASSIGN_OR_RETURN(snap.entries, packages(*primary, primary_streamed, *e->content));
      }
      indexes.push_back(std::move(*e));
    }
    if (!primary) return make_error(ErrorCode::kParse, root.url + ": no primary metadata");
    size_t blobs = snap.entries.size();
    for (auto& e : indexes) snap.entries.push_back(std::move(e));
    // Roots, in the order they commit: key, signature, repomd.xml.
    for (auto* f : {&key, &asc}) {
      if (*f) snap.entries.push_back(std::move(**f));
    }
    snap.entries.push_back(std::move(*repomd_entry));
    ctx.logger().info("yum.repo", {{"revision", repomd.revision},
                                   {"metadata", static_cast<uint64_t>(repomd.data.size())},
                                   {"packages", primary->packages()},
                                   {"primary", primary_streamed ? "parsed while downloading"
                                                                : "parsed from the stored copy"},
                                   {"files", static_cast<uint64_t>(blobs)},
                                   {"signed", asc ? (verifier ? "verified" : "yes") : "no"}});
    return snap;
  }

 private:
  // Fetches a metadata file into an Entry (stage kRoot for repomd.xml and its companions).
  Result<std::optional<Entry>> fetch(SnapshotContext& ctx, const std::string& rel, bool optional,
                                     const Digests& expected = {},
                                     std::optional<uint64_t> size = {},
                                     ByteSink* observer = nullptr) {
    DEPOT_ASSIGN_OR_RETURN(auto f,
                           fetch_relative(ctx, upstream_, rel, optional, expected, size, observer));
    if (!f) return std::optional<Entry>();
    return std::optional<Entry>(f->entry(rel.starts_with(kRepomd) ? Stage::kRoot : Stage::kIndex));
  }

  // The package blobs primary names, checked. When its download did not stream through
  // `stream` (a 304, a copy repomd.xml still names, an observer left out), the stored copy is
  // fed through it now: one decoder, one parser and one set of checks either way.
  static Result<std::vector<Entry>> packages(PrimaryStream& stream, bool streamed,
                                             IndexContent& content) {
    if (!streamed) {
      DEPOT_TRY(stream.reset());
      DEPOT_ASSIGN_OR_RETURN(auto in, content.open());
      DEPOT_TRY(for_each_chunk(*in, [&](std::string_view chunk) {
        return stream.write(std::as_bytes(std::span(chunk)));
      }));
    }
    return stream.finish();
  }

  std::string upstream_;
  std::string keyring_;
};

}  // namespace

Result<std::unique_ptr<Source>> make_yum_source(const SourceOptions& opts) {
  if (opts.upstream.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "yum: an upstream URL is required");
  }
  for (const char* key : {"subdir", "dist", "component", "arch"}) {
    if (!opts.list(key).empty()) {
      return make_error(
          ErrorCode::kInvalidArgument,
          std::string("yum: --") + key + " does not apply (mirror one repository root)");
    }
  }
  std::string keyring = opts.value("keyring");
  if (!keyring.empty() && !fs::is_regular_file(keyring)) {
    return make_error(ErrorCode::kInvalidArgument, "yum: --keyring " + keyring + ": not a file");
  }
  return std::unique_ptr<Source>(std::make_unique<YumSource>(opts.upstream, std::move(keyring)));
}

}  // namespace depot::yum

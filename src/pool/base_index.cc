#include "pool/base_index.h"

#include <algorithm>

#include "core/byte_sink.h"
#include "core/byte_source.h"
#include "core/clock.h"
#include "core/digest.h"
#include "core/file_io.h"
#include "sources/apt/deb822.h"
#include "sources/apt/release.h"
#include "sources/decompress.h"
#include "transfer/downloader.h"
#include "transfer/http_util.h"

namespace depot::pool {
namespace {

constexpr uint64_t kMaxIndexBytes = 1ull << 30;

// Reads files below an archive root, a directory or an http(s) URL. Not thread-safe.
class ArchiveReader {
 public:
  ArchiveReader(std::string root, Logger& log) : root_(std::move(root)), log_(log) {
    while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
  }
  std::string where(const std::string& rel) const { return root_ + "/" + rel; }

  // The bytes of `rel`; kNotFound when it does not exist.
  Result<std::string> read(const std::string& rel, const FetchRequest& extra = {}) {
    const std::string at = where(rel);
    if (!is_http_url(root_)) {
      std::error_code ec;
      if (!std::filesystem::exists(at, ec))
        return make_error(ErrorCode::kNotFound, at + ": no such file");
      return read_whole_file(at, at, kMaxIndexBytes);
    }
    if (!downloader_) {
      DownloadOptions o;
      o.retry.max_attempts = 2;
      o.connect_timeout = std::chrono::milliseconds(10000);
      downloader_ = make_curl_downloader(o, system_clock(), log_);
    }
    FetchRequest req = extra;
    req.url = at;
    if (!req.max_size && !req.expected_size) req.max_size = kMaxIndexBytes;
    StringSink sink;
    DEPOT_ASSIGN_OR_RETURN(FetchResult r, downloader_->fetch(req, sink));
    (void)r;
    return std::move(sink.out);
  }

 private:
  std::string root_;
  Logger& log_;
  std::unique_ptr<Downloader> downloader_;
};

Error named(const std::string& what, const Error& e) {
  return make_error(e.code, what + ": " + e.message);
}

// The Release of dists/<dist>/: InRelease's signed text, else Release.
Result<apt::Release> read_release(ArchiveReader& in, const std::string& dist) {
  const std::string dir = "dists/" + dist + "/";
  auto inrelease = in.read(dir + "InRelease");
  if (inrelease.ok()) {
    DEPOT_ASSIGN_OR_RETURN(std::string text,
                           apt::clearsigned_text(*inrelease, in.where(dir + "InRelease")));
    return apt::parse_release(text, in.where(dir + "InRelease"));
  }
  if (inrelease.error().code != ErrorCode::kNotFound) return inrelease.error();
  auto release = in.read(dir + "Release");
  if (!release.ok()) {
    return make_error(release.error().code, "no InRelease nor Release: " + release.error().message);
  }
  return apt::parse_release(*release, in.where(dir + "Release"));
}

}  // namespace

Result<BasePackages> parse_base_packages(std::string_view bytes, const std::string& name,
                                         int64_t first_id) {
  BasePackages out;
  int64_t id = first_id;
  apt::Deb822Parser parser(name, [&](const apt::Stanza& s) -> Status {
    auto pkg = s.get("Package"), ver = s.get("Version"), arch = s.get("Architecture");
    if (!pkg || !ver || !arch) {
      return make_error(ErrorCode::kParse, name + ": paragraph at line " +
                                               std::to_string(s.line()) +
                                               " lacks Package, Version or Architecture");
    }
    StoredPackage sp;
    sp.id = id--;
    sp.package.format = "deb";
    sp.package.name = std::string(*pkg);
    sp.package.version = std::string(*ver);
    sp.package.architecture = std::string(*arch);
    if (auto provides = s.get("Provides")) sp.package.fields.emplace_back("Provides", *provides);
    out.push_back(std::move(sp));
    return {};
  });
  auto source = memory_source(std::make_shared<const std::string>(bytes));
  DEPOT_TRY(
      read_decompressed(*source, name, [&](std::string_view chunk) { return parser.feed(chunk); }));
  DEPOT_TRY(parser.finish());
  return out;
}

Result<std::vector<std::shared_ptr<const BasePackages>>> BaseIndexCache::load(
    const BaseSpec& base, const std::vector<std::string>& archs) {
  std::lock_guard lock(mu_);
  const std::string what = "base " + base.url + " (" + base.dist + ")";
  ArchiveReader in(base.url, log_);
  auto release = read_release(in, base.dist);
  if (!release.ok()) return named(what, release.error());
  std::vector<std::shared_ptr<const BasePackages>> out;
  for (const std::string& comp : base.components) {
    for (const std::string& arch : archs) {
      const auto& listed = release->architectures;
      if (!listed.empty() && std::find(listed.begin(), listed.end(), arch) == listed.end()) {
        continue;
      }
      const std::string stem = comp + "/binary-" + arch + "/Packages";
      std::vector<const apt::ReleaseFile*> variants;
      for (const char* ext : {".xz", ".gz", ""}) {
        for (const apt::ReleaseFile& f : release->files) {
          if (f.path == stem + ext) variants.push_back(&f);
        }
      }
      if (variants.empty()) {
        return make_error(ErrorCode::kNotFound,
                          what + ": its Release lists no " + stem + "{.xz,.gz,}");
      }
      Key key{base.url, base.dist, comp, arch};
      const std::string& want = variants.front()->digests.sha256;
      if (auto it = entries_.find(key);
          it != entries_.end() && !want.empty() && it->second.sha256 == want) {
        ++stats_.cache_hits;
        out.push_back(it->second.packages);
        continue;
      }
      Result<std::string> bytes = make_error(ErrorCode::kNotFound, "");
      const apt::ReleaseFile* used = nullptr;
      for (const apt::ReleaseFile* f : variants) {
        FetchRequest req;
        req.expected_size = f->size;
        bytes = in.read("dists/" + base.dist + "/" + f->path, req);
        used = f;
        if (bytes.ok() || bytes.error().code != ErrorCode::kNotFound) break;
      }
      if (!bytes.ok()) return named(what, bytes.error());
      const std::string at = in.where("dists/" + base.dist + "/" + used->path);
      if (!used->digests.sha256.empty() && sha256_hex(*bytes) != used->digests.sha256) {
        return make_error(ErrorCode::kDigestMismatch,
                          what + ": " + at + ": sha256 differs from its Release");
      }
      if (bytes->size() != used->size) {
        return make_error(ErrorCode::kSizeMismatch,
                          what + ": " + at + ": size differs from its Release");
      }
      auto parsed = parse_base_packages(*bytes, at, next_id_);
      if (!parsed.ok()) return named(what, parsed.error());
      next_id_ -= static_cast<int64_t>(parsed->size());
      auto shared = std::make_shared<const BasePackages>(std::move(*parsed));
      entries_[key] = {used->digests.sha256, shared};
      ++stats_.indexes_read;
      log_.info("base_index_read",
                {{"url", at}, {"packages", static_cast<uint64_t>(shared->size())}});
      out.push_back(std::move(shared));
    }
  }
  return out;
}

BaseIndexCache::Stats BaseIndexCache::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace depot::pool

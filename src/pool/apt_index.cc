#include "pool/apt_index.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <functional>
#include <map>
#include <set>

#include "core/file_io.h"
#include "core/rel_path.h"
#include "core/subprocess.h"
#include "core/text.h"
#include "pool/paragraph.h"
#include "core/unique_fd.h"

namespace depot::pool {
std::string pool_path(const Package& p, std::string_view component) {
  return pool_path(package_text(p), component);
}

std::string format_release_date(std::chrono::system_clock::time_point t) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d UTC", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

std::string render_release(const ReleaseInfo& info, std::span<const IndexFile> files) {
  std::string out;
  auto field = [&out](std::string_view name, std::string_view value) {
    if (!value.empty()) append_field(out, name, value);
  };
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : " ") + x;
    return s;
  };
  field("Origin", info.origin);
  field("Label", info.label);
  field("Suite", info.suite);
  field("Codename", info.codename);
  field("Date", info.date);
  field("Architectures", join(info.architectures));
  field("Components", join(info.components));
  field("Acquire-By-Hash", "yes");
  field("Description", info.description);
  for (const ReleaseSection& sec : kReleaseSections) {
    out += sec.name;
    out += ":\n";
    for (const IndexFile& f : files) {
      char size[32];
      std::snprintf(size, sizeof size, " %16llu ", static_cast<unsigned long long>(f.size));
      out += ' ';
      out += f.digests.get(sec.algo);
      out += size;
      out += f.path;
      out += '\n';
    }
  }
  return out;
}

namespace {

// A private directory under the system temp dir, removed with everything in it.
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "depot-sign-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

Result<std::string> run_gpg(const SigningKey& key, const std::vector<std::string>& mode,
                            const std::filesystem::path& in, const std::filesystem::path& out) {
  std::vector<std::string> argv = {
      "gpg", "--homedir", key.gnupg_home.string(), "--local-user", key.key_id, "--batch", "--yes"};
  argv.insert(argv.end(), mode.begin(), mode.end());
  argv.insert(argv.end(), {"--output", out.string(), in.string()});
  std::string what = "gpg " + mode.back() + " with key " + key.key_id + " (homedir " +
                     key.gnupg_home.string() + ")";
  auto res = run_process(argv);
  if (!res.ok()) return make_error(ErrorCode::kSignature, what + ": " + res.error().message);
  if (res->exit_code != 0) {
    return make_error(ErrorCode::kSignature, what + " failed (exit " +
                                                 std::to_string(res->exit_code) +
                                                 "): " + std::string(trim(res->err)));
  }
  return read_whole_file(out, out.string());
}

// Usable as one path component of dists/: no separators, dots-only names, spaces or controls.
bool plain_name(std::string_view s) {
  if (s.empty() || s == "." || s == "..") return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u != 0x7f && c != '/' && c != '\\';
  });
}

Status write_file(const std::filesystem::path& path, std::string_view data, bool sync) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return make_error(ErrorCode::kIo, path.string() + ": cannot replace: " + std::strerror(errno));
  }
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd.valid()) {
    return make_error(ErrorCode::kIo, path.string() + ": cannot create: " + std::strerror(errno));
  }
  while (!data.empty()) {
    ssize_t n = ::write(fd.get(), data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return make_error(ErrorCode::kIo, path.string() + ": cannot write: " + std::strerror(errno));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  if (sync && ::fsync(fd.get()) != 0) {
    return make_error(ErrorCode::kIo, path.string() + ": fsync: " + std::strerror(errno));
  }
  if (::close(fd.release()) != 0) {
    return make_error(ErrorCode::kIo, path.string() + ": close: " + std::strerror(errno));
  }
  return ok_status();
}

}  // namespace

Result<ReleaseSignatures> sign_release(std::string_view release, const SigningKey& key) {
  ScratchDir scratch;
  if (scratch.path().empty()) {
    return make_error(ErrorCode::kIo,
                      "signing with key " + key.key_id +
                          ": cannot create a temporary directory: " + std::strerror(errno));
  }
  std::filesystem::path in = scratch.path() / "Release";
  DEPOT_TRY(write_whole_file(in, release));
  ReleaseSignatures sigs;
  DEPOT_ASSIGN_OR_RETURN(sigs.inrelease,
                         run_gpg(key, {"--clearsign"}, in, scratch.path() / "InRelease"));
  DEPOT_ASSIGN_OR_RETURN(sigs.release_gpg, run_gpg(key, {"--armor", "--detach-sign"}, in,
                                                   scratch.path() / "Release.gpg"));
  return sigs;
}

Result<PreparedPublication> prepare_publication(const ReleaseInfo& info,
                                                std::span<const ComponentPackages> components) {
  if (!plain_name(info.suite)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "unusable suite name " + quote_untrusted(info.suite));
  }
  PreparedPublication out;
  ReleaseInfo& rel = out.release;
  rel = info;
  rel.components.clear();
  std::set<std::string> archs;
  for (const ComponentPackages& c : components) {
    if (!plain_name(c.component)) {
      return make_error(ErrorCode::kInvalidArgument,
                        "unusable component name " + quote_untrusted(c.component));
    }
    if (std::find(rel.components.begin(), rel.components.end(), c.component) !=
        rel.components.end()) {
      return make_error(ErrorCode::kInvalidArgument, "component " + c.component + " given twice");
    }
    rel.components.push_back(c.component);
    for (const PackageText* p : c.packages) archs.insert(p->architecture);
  }
  rel.architectures.clear();
  if (info.architectures.empty()) {
    rel.architectures.assign(archs.begin(), archs.end());
  } else {
    rel.architectures = info.architectures;
  }
  std::erase(rel.architectures, "all");
  for (const std::string& a : rel.architectures) {
    if (!plain_name(a)) {
      return make_error(ErrorCode::kInvalidArgument,
                        "unusable architecture name " + quote_untrusted(a));
    }
  }
  if (rel.architectures.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "suite " + info.suite + ": no architecture to publish");
  }
  for (const ComponentPackages& c : components) {
    for (const std::string& arch : rel.architectures) {
      std::vector<const PackageText*> selected;
      for (const PackageText* p : c.packages) {
        if (p->architecture == arch || p->architecture == "all") selected.push_back(p);
      }
      DEPOT_ASSIGN_OR_RETURN(RenderedPackages r, render_packages_chunked(selected, c.component));
      out.indexes.push_back({c.component + "/binary-" + arch + "/", std::move(r)});
    }
  }
  return out;
}

Result<std::vector<PublishedFile>> finish_publication(PreparedPublication prepared,
                                                      const PublishOptions& opts,
                                                      PublicationStats* stats) {
  const ReleaseInfo& rel = prepared.release;
  const std::string dists = "dists/" + rel.suite + "/";
  // Index files in Release order, then their digests, then their by-hash names.
  struct Pending {
    std::string path;  // relative to dists/<suite>/
    std::shared_ptr<const std::string> content;
    Digests digests;
  };
  std::vector<Pending> pending;
  std::vector<PublishedFile> unlisted;  // extras not named in Release
  const PackagesOptions packages_opts{.gzip_level = opts.gzip_level,
                                      .write_xz = opts.write_xz,
                                      .xz_preset = opts.xz_preset,
                                      .cache = opts.cache,
                                      .pool = opts.pool};
  for (PreparedPublication::Index& index : prepared.indexes) {
    DEPOT_ASSIGN_OR_RETURN(PackagesFile pf,
                           compress_packages(std::move(index.packages), packages_opts));
    if (stats != nullptr) {
      stats->chunks += pf.chunks;
      stats->compressed += pf.compressed;
      stats->reused += pf.reused;
    }
    auto shared = [](std::string& s) { return std::make_shared<const std::string>(std::move(s)); };
    pending.push_back({index.dir + "Packages", shared(pf.text), pf.text_digests});
    pending.push_back({index.dir + "Packages.gz", shared(pf.gz), {}});
    if (opts.write_xz) pending.push_back({index.dir + "Packages.xz", shared(pf.xz), {}});
    if (!opts.extras) continue;
    for (IndexExtra& e : opts.extras(rel.suite, index.dir, pf.text_digests)) {
      if (e.in_release) {
        pending.push_back({index.dir + e.path, std::move(e.content), {}});
      } else {
        unlisted.push_back({dists + index.dir + e.path, std::move(e.content)});
      }
    }
  }
  std::vector<std::function<void()>> hashing;
  for (Pending& f : pending) {
    if (!f.digests.sha256.empty()) continue;  // hashed beside the compression
    hashing.push_back([&f] {
      Hasher h(kReleaseDigests);
      h.update(*f.content);
      f.digests = h.finish();
    });
  }
  run_all(opts.pool, std::move(hashing));
  std::vector<PublishedFile> files;
  std::vector<IndexFile> listed;
  for (Pending& f : pending) {
    files.push_back({dists + f.path, f.content});
    const std::string dir = f.path.substr(0, f.path.rfind('/') + 1);
    for (const ReleaseSection& sec : kReleaseSections) {
      files.push_back(
          {dists + dir + "by-hash/" + sec.name + "/" + f.digests.get(sec.algo), f.content});
    }
    listed.push_back({f.path, f.content->size(), std::move(f.digests)});
  }
  for (PublishedFile& f : unlisted) files.push_back(std::move(f));
  std::string release = render_release(rel, listed);
  if (opts.signing) {
    DEPOT_ASSIGN_OR_RETURN(ReleaseSignatures sigs, sign_release(release, *opts.signing));
    files.push_back({dists + "Release", std::make_shared<const std::string>(std::move(release))});
    files.push_back(
        {dists + "InRelease", std::make_shared<const std::string>(std::move(sigs.inrelease))});
    files.push_back(
        {dists + "Release.gpg", std::make_shared<const std::string>(std::move(sigs.release_gpg))});
  } else {
    files.push_back({dists + "Release", std::make_shared<const std::string>(std::move(release))});
  }
  return files;
}

Result<std::vector<PublishedFile>> build_publication(const ReleaseInfo& info,
                                                     std::span<const ComponentPackages> components,
                                                     const PublishOptions& opts,
                                                     PublicationStats* stats) {
  DEPOT_ASSIGN_OR_RETURN(PreparedPublication prepared, prepare_publication(info, components));
  return finish_publication(std::move(prepared), opts, stats);
}

Status write_publication(std::span<const PublishedFile> files, const std::filesystem::path& root,
                         bool sync) {
  std::map<const std::string*, std::filesystem::path> first;  // content -> where written
  std::set<std::string> dirs = {""};  // relative to root, with every ancestor
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec) return make_error(ErrorCode::kIo, root.string() + ": " + ec.message());
  for (const PublishedFile& f : files) {
    auto rel = RelPath::parse(f.path);
    if (!rel.ok()) return make_error(ErrorCode::kUnsafePath, rel.error().message);
    std::filesystem::path target = root / rel->str();
    if (std::string parent = rel->parent(); dirs.insert(parent).second) {
      std::filesystem::create_directories(root / parent, ec);
      if (ec) return make_error(ErrorCode::kIo, (root / parent).string() + ": " + ec.message());
      for (size_t slash; (slash = parent.rfind('/')) != std::string::npos;) {
        parent.resize(slash);
        if (!dirs.insert(parent).second) break;
      }
    }
    auto [it, fresh] = first.try_emplace(f.content.get(), target);
    if (!fresh) {
      if (::unlink(target.c_str()) != 0 && errno != ENOENT) {
        return make_error(ErrorCode::kIo,
                          target.string() + ": cannot replace: " + std::strerror(errno));
      }
      if (::link(it->second.c_str(), target.c_str()) == 0) continue;
    }
    DEPOT_TRY(write_file(target, *f.content, sync));
  }
  if (sync) {
    for (const std::string& d : dirs) DEPOT_TRY(fsync_directory(d.empty() ? root : root / d));
  }
  return ok_status();
}

}  // namespace depot::pool

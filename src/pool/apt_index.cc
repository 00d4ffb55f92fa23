#include "pool/apt_index.h"

#include <fcntl.h>
#include <lzma.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>
#include <set>

#include "core/file_io.h"
#include "core/rel_path.h"
#include "core/subprocess.h"
#include "pool/deb_reader.h"
#include "core/unique_fd.h"

namespace depot::pool {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool generated_field(std::string_view name) {
  for (std::string_view g : {"Package", "Filename", "Size", "MD5sum", "SHA1", "SHA256", "SHA512"}) {
    if (iequals(name, g)) return true;
  }
  return false;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ':';
  // A value that starts on the next line ("Conffiles:\n /etc/...") gets no space.
  if (!value.empty() && value.front() != '\n') out += ' ';
  out += value;
  out += '\n';
}

}  // namespace

std::string pool_path(const Package& p, std::string_view component) {
  std::string_view dir = p.name;
  for (const auto& [name, value] : p.fields) {
    if (!iequals(name, "Source")) continue;
    std::string_view src = trim(value);
    src = trim(src.substr(0, src.find('(')));
    if (!src.empty()) dir = src;
    break;
  }
  std::string_view prefix = dir.substr(0, dir.starts_with("lib") && dir.size() > 3 ? 4 : 1);
  std::string out = "pool/";
  out.append(component).append("/").append(prefix).append("/").append(dir).append("/");
  out += p.file.filename;
  return out;
}

bool package_order_less(const Package& a, const Package& b) {
  if (int c = a.name.compare(b.name); c != 0) return c < 0;
  if (int c = compare_versions(a.version, b.version); c != 0) return c < 0;
  if (int c = a.architecture.compare(b.architecture); c != 0) return c < 0;
  return a.file.filename < b.file.filename;
}

std::string render_packages(std::span<const Package* const> pkgs, std::string_view component) {
  std::vector<const Package*> sorted(pkgs.begin(), pkgs.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Package* a, const Package* b) { return package_order_less(*a, *b); });
  size_t estimate = 0;
  for (const Package* p : sorted) {
    estimate += 300 + p->file.filename.size() * 2;
    for (const auto& [name, value] : p->fields) estimate += name.size() + value.size() + 3;
  }
  std::string out;
  out.reserve(estimate);
  for (const Package* p : sorted) {
    if (!out.empty()) out += '\n';
    append_field(out, "Package", p->name);
    for (const auto& [name, value] : p->fields) {
      if (!generated_field(name)) append_field(out, name, value);
    }
    append_field(out, "Filename", pool_path(*p, component));
    append_field(out, "Size", std::to_string(p->file.size));
    append_field(out, "MD5sum", p->file.digests.md5);
    append_field(out, "SHA1", p->file.digests.sha1);
    append_field(out, "SHA256", p->file.digests.sha256);
  }
  return out;
}

Result<std::string> gzip_compress(std::string_view data, int level) {
  z_stream z{};
  // windowBits 15 + 16: a gzip wrapper; zlib's default header has no name and mtime 0.
  if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return make_error(ErrorCode::kInternal, "gzip: cannot start the compressor");
  }
  std::string out;
  out.resize(deflateBound(&z, static_cast<uLong>(std::min<size_t>(data.size(), 1u << 30))) + 64);
  size_t produced = 0;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (z.avail_in == 0 && !data.empty()) {
      size_t n = std::min<size_t>(data.size(), 1u << 30);
      z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
      z.avail_in = static_cast<uInt>(n);
      data.remove_prefix(n);
    }
    if (produced == out.size()) out.resize(out.size() * 2);
    size_t room = std::min<size_t>(out.size() - produced, 1u << 30);
    z.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    z.avail_out = static_cast<uInt>(room);
    rc = deflate(&z, data.empty() ? Z_FINISH : Z_NO_FLUSH);
    produced += room - z.avail_out;
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
      deflateEnd(&z);
      return make_error(ErrorCode::kInternal, "gzip: deflate failed (" + std::to_string(rc) + ")");
    }
  }
  deflateEnd(&z);
  out.resize(produced);
  return out;
}

Result<std::string> xz_compress(std::string_view data, const XzOptions& opts) {
  lzma_mt mt{};
  mt.threads = opts.threads == 0 ? std::max<uint32_t>(1, lzma_cputhreads()) : opts.threads;
  mt.block_size = opts.block_size;
  mt.timeout = 0;
  mt.preset = opts.preset;
  mt.check = LZMA_CHECK_CRC64;
  lzma_stream s = LZMA_STREAM_INIT;
  if (lzma_ret r = lzma_stream_encoder_mt(&s, &mt); r != LZMA_OK) {
    return make_error(ErrorCode::kInvalidArgument,
                      "xz: cannot start the encoder (liblzma error " + std::to_string(r) + ")");
  }
  std::string out;
  out.resize(data.size() / 4 + 4096);
  size_t produced = 0;
  s.next_in = reinterpret_cast<const uint8_t*>(data.data());
  s.avail_in = data.size();
  for (;;) {
    if (produced == out.size()) out.resize(out.size() * 2);
    s.next_out = reinterpret_cast<uint8_t*>(out.data() + produced);
    s.avail_out = out.size() - produced;
    lzma_ret r = lzma_code(&s, LZMA_FINISH);
    produced = out.size() - s.avail_out;
    if (r == LZMA_STREAM_END) break;
    if (r != LZMA_OK) {
      lzma_end(&s);
      return make_error(ErrorCode::kInternal,
                        "xz: compression failed (liblzma error " + std::to_string(r) + ")");
    }
  }
  lzma_end(&s);
  out.resize(produced);
  return out;
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
  struct Section {
    const char* name;
    DigestAlgo algo;
  };
  for (Section sec : {Section{"MD5Sum", DigestAlgo::kMd5}, Section{"SHA1", DigestAlgo::kSha1},
                      Section{"SHA256", DigestAlgo::kSha256}}) {
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

Status sync_dir(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid() || ::fsync(fd.get()) != 0) {
    return make_error(ErrorCode::kIo, dir.string() + ": fsync: " + std::strerror(errno));
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

Result<std::vector<PublishedFile>> build_publication(const ReleaseInfo& info,
                                                     std::span<const ComponentPackages> components,
                                                     const PublishOptions& opts) {
  if (!plain_name(info.suite)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "unusable suite name " + quote_untrusted(info.suite));
  }
  ReleaseInfo rel = info;
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
    for (const Package* p : c.packages) archs.insert(p->architecture);
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

  const std::string dists = "dists/" + info.suite + "/";
  std::vector<PublishedFile> files;
  std::vector<IndexFile> listed;
  Hasher hasher(digest_bit(DigestAlgo::kMd5) | digest_bit(DigestAlgo::kSha1) |
                digest_bit(DigestAlgo::kSha256));
  auto add = [&](const std::string& dir, const std::string& name, std::string content) {
    auto shared = std::make_shared<const std::string>(std::move(content));
    hasher.update(*shared);
    IndexFile f{dir + name, shared->size(), hasher.finish()};
    files.push_back({dists + f.path, shared});
    for (DigestAlgo a : {DigestAlgo::kMd5, DigestAlgo::kSha1, DigestAlgo::kSha256}) {
      const char* algo = a == DigestAlgo::kMd5    ? "MD5Sum"
                         : a == DigestAlgo::kSha1 ? "SHA1"
                                                  : "SHA256";
      files.push_back({dists + dir + "by-hash/" + algo + "/" + f.digests.get(a), shared});
    }
    listed.push_back(std::move(f));
  };
  for (const ComponentPackages& c : components) {
    for (const std::string& arch : rel.architectures) {
      std::vector<const Package*> selected;
      for (const Package* p : c.packages) {
        if (p->architecture == arch || p->architecture == "all") selected.push_back(p);
      }
      std::string dir = c.component + "/binary-" + arch + "/";
      std::string text = render_packages(selected, c.component);
      DEPOT_ASSIGN_OR_RETURN(std::string gz, gzip_compress(text, opts.gzip_level));
      std::string xz;
      if (opts.write_xz) {
        DEPOT_ASSIGN_OR_RETURN(xz, xz_compress(text, opts.xz));
      }
      add(dir, "Packages", std::move(text));
      add(dir, "Packages.gz", std::move(gz));
      if (opts.write_xz) add(dir, "Packages.xz", std::move(xz));
    }
  }
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
    for (const std::string& d : dirs) DEPOT_TRY(sync_dir(d.empty() ? root : root / d));
  }
  return ok_status();
}

}  // namespace depot::pool

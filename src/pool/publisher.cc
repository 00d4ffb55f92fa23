#include "pool/publisher.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "core/file_io.h"

namespace depot::pool {
namespace fs = std::filesystem;

namespace {

Error io_error(const fs::path& path, const std::string& what) {
  return make_error(ErrorCode::kIo, path.string() + ": " + what + ": " + std::strerror(errno));
}

// Hard link, or a copy when the filesystem cannot link.
Status link_or_copy(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::create_directories(to.parent_path(), ec);
  if (ec) return make_error(ErrorCode::kIo, to.parent_path().string() + ": " + ec.message());
  if (::link(from.c_str(), to.c_str()) == 0 || errno == EEXIST) return {};
  if (errno != EXDEV && errno != EPERM && errno != EMLINK) return io_error(to, "link");
  fs::copy_file(from, to, fs::copy_options::skip_existing, ec);
  if (ec) return make_error(ErrorCode::kIo, to.string() + ": copy: " + ec.message());
  return {};
}

// Generation numbers present under `dir`.
std::vector<uint64_t> generations(const fs::path& dir) {
  std::vector<uint64_t> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    out.push_back(std::stoull(name));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The generation the public symlink points at, or 0.
uint64_t current_generation(const fs::path& link) {
  std::error_code ec;
  fs::path target = fs::read_symlink(link, ec);
  if (ec) return 0;
  std::string name = target.filename().string();
  if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) return 0;
  return std::stoull(name);
}

std::chrono::system_clock::time_point mtime_of(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return {};
  return std::chrono::system_clock::time_point(std::chrono::seconds(st.st_mtim.tv_sec));
}

void touch(const fs::path& p) { ::utimensat(AT_FDCWD, p.c_str(), nullptr, 0); }

// Files a client of an older generation may still ask for: by-hash indexes and pool files.
bool carried_kind(const fs::path& rel) {
  std::string s = rel.generic_string();
  return s.starts_with("pool/") || s.find("/by-hash/") != std::string::npos;
}

}  // namespace

Result<PublishReport> publish_repo(PoolStore& store, std::string_view repo,
                                   const PublishSettings& settings) {
  PublishReport report;
  const std::string name(repo);
  const fs::path gens = settings.public_dir / ".generations" / name;
  const fs::path link = settings.public_dir / name;
  std::error_code ec;
  if (fs::exists(link, ec) && !fs::is_symlink(link, ec)) {
    return make_error(ErrorCode::kRefused,
                      link.string() + " exists and is not a depot publication; not replacing it");
  }

  DEPOT_ASSIGN_OR_RETURN(std::vector<StoredPackage> stored, store.list(repo));
  std::vector<const Package*> pkgs;
  pkgs.reserve(stored.size());
  for (const StoredPackage& sp : stored) pkgs.push_back(&sp.package);
  report.packages = pkgs.size();

  ReleaseInfo info;
  info.origin = settings.origin;
  info.label = settings.label.empty() ? name : settings.label;
  info.suite = name;
  info.codename = name;
  info.date = format_release_date(std::chrono::system_clock::now());
  info.architectures = settings.architectures;
  info.components = {settings.component};
  std::vector<ComponentPackages> components{{settings.component, pkgs}};
  DEPOT_ASSIGN_OR_RETURN(std::vector<PublishedFile> files,
                         build_publication(info, components, settings.index));
  report.index_files = files.size();

  fs::create_directories(gens, ec);
  if (ec) return make_error(ErrorCode::kIo, gens.string() + ": " + ec.message());
  std::vector<uint64_t> existing = generations(gens);
  const uint64_t current = current_generation(link);
  const uint64_t next = std::max(existing.empty() ? 0 : existing.back(), current) + 1;
  const fs::path gen = gens / std::to_string(next);
  report.generation = next;

  auto abandon = [&](Error e) -> Error {
    std::error_code ignored;
    fs::remove_all(gen, ignored);
    return e;
  };
  if (Status st = write_publication(files, gen, /*sync=*/false); !st.ok()) {
    return abandon(st.error());
  }
  for (const StoredPackage& sp : stored) {
    Status st = link_or_copy(store.blob_path(sp.package.file.digests.sha256),
                             gen / pool_path(sp.package, settings.component));
    if (!st.ok()) return abandon(st.error());
  }
  // Files of generations superseded less than `grace` ago.
  const auto now = std::chrono::system_clock::now();
  for (uint64_t g : existing) {
    const fs::path old = gens / std::to_string(g);
    if (g != current && now - mtime_of(old) >= settings.grace) continue;
    if (g == current && settings.grace.count() == 0) continue;
    for (auto it = fs::recursive_directory_iterator(old, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      fs::path rel = it->path().lexically_relative(old);
      if (!carried_kind(rel) || fs::exists(gen / rel)) continue;
      if (Status st = link_or_copy(it->path(), gen / rel); !st.ok()) return abandon(st.error());
      report.carried_files++;
    }
    if (ec) return abandon(make_error(ErrorCode::kIo, old.string() + ": " + ec.message()));
  }
  if (Status st = sync_filesystem(gen); !st.ok()) return abandon(st.error());
  touch(gen);

  // The switch: one rename of a symlink.
  const fs::path tmp_link = settings.public_dir / ("." + name + ".new");
  fs::remove(tmp_link, ec);
  fs::create_symlink(fs::path(".generations") / name / std::to_string(next), tmp_link, ec);
  if (ec) return abandon(make_error(ErrorCode::kIo, tmp_link.string() + ": " + ec.message()));
  if (::rename(tmp_link.c_str(), link.c_str()) != 0) {
    Error e = io_error(link, "rename");
    fs::remove(tmp_link, ec);
    return abandon(e);
  }
  DEPOT_TRY(fsync_directory(settings.public_dir));
  // The previous generation stops being current now: its grace starts.
  if (current != 0) touch(gens / std::to_string(current));

  for (uint64_t g : existing) {
    if (g == current) continue;
    const fs::path old = gens / std::to_string(g);
    if (now - mtime_of(old) < settings.grace) continue;
    fs::remove_all(old, ec);
    if (!ec) report.generations_removed++;
  }
  if (current != 0 && settings.grace.count() == 0) {
    fs::remove_all(gens / std::to_string(current), ec);
    if (!ec) report.generations_removed++;
  }
  return report;
}

}  // namespace depot::pool

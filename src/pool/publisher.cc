#include "pool/publisher.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "core/file_io.h"

namespace depot::pool {
namespace fs = std::filesystem;

namespace {

Error io_error(const fs::path& path, const std::string& what) {
  return make_error(ErrorCode::kIo, path.string() + ": " + what + ": " + std::strerror(errno));
}

// mkdir -p with one mkdir per missing directory.
Status make_parents(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0755) == 0 || errno == EEXIST) return {};
  if (errno != ENOENT || !dir.has_parent_path() || dir.parent_path() == dir) {
    return io_error(dir, "mkdir");
  }
  DEPOT_TRY(make_parents(dir.parent_path()));
  if (::mkdir(dir.c_str(), 0755) == 0 || errno == EEXIST) return {};
  return io_error(dir, "mkdir");
}

// After link(from, to) failed: a copy where the filesystem cannot link, else the link error.
Status copy_where_unlinkable(const fs::path& from, const fs::path& to) {
  if (errno != EXDEV && errno != EPERM && errno != EMLINK) return io_error(to, "link");
  std::error_code ec;
  fs::copy_file(from, to, ec);
  if (ec) return make_error(ErrorCode::kIo, to.string() + ": copy: " + ec.message());
  return {};
}

enum class Placed { kExisting, kCreated, kOccupied };

// Makes `to` a hard link of `from` (a copy where the filesystem cannot link). An existing link
// to the same inode is left alone (kExisting); another file there is left alone too
// (kOccupied: the caller decides, see replace_link). With `new_parent`, the parent directory is
// made first (it is probably missing: saves a failing link()).
Result<Placed> place_link(const fs::path& from, const fs::path& to, bool new_parent = false) {
  if (new_parent) DEPOT_TRY(make_parents(to.parent_path()));
  if (::link(from.c_str(), to.c_str()) == 0) return Placed::kCreated;
  if (errno == ENOENT) {
    DEPOT_TRY(make_parents(to.parent_path()));
    if (::link(from.c_str(), to.c_str()) == 0) return Placed::kCreated;
  }
  if (errno == EEXIST) {
    struct stat a {}, b {};
    if (::stat(from.c_str(), &a) == 0 && ::stat(to.c_str(), &b) == 0 && a.st_ino == b.st_ino &&
        a.st_dev == b.st_dev) {
      return Placed::kExisting;
    }
    return Placed::kOccupied;
  }
  DEPOT_TRY(copy_where_unlinkable(from, to));
  return Placed::kCreated;
}

// Replaces `to` with a link (or copy) of `from` in one rename.
Status replace_link(const fs::path& from, const fs::path& to) {
  const fs::path tmp = to.parent_path() / (".new-" + to.filename().string());
  ::unlink(tmp.c_str());
  if (::link(from.c_str(), tmp.c_str()) != 0) DEPOT_TRY(copy_where_unlinkable(from, tmp));
  if (::rename(tmp.c_str(), to.c_str()) != 0) {
    Error e = io_error(to, "rename");
    ::unlink(tmp.c_str());
    return e;
  }
  return {};
}

// Joins a thread however the scope is left.
struct JoinGuard {
  std::thread& t;
  ~JoinGuard() {
    if (t.joinable()) t.join();
  }
};

// The generation number a file name spells (digits only), or 0.
uint64_t generation_of(const fs::path& p) {
  const std::string name = p.filename().string();
  if (name.empty() || name.size() > 18 || name.find_first_not_of("0123456789") != std::string::npos) {
    return 0;
  }
  return std::stoull(name);
}

// Generation numbers present under `dir`.
std::vector<uint64_t> generations(const fs::path& dir) {
  std::vector<uint64_t> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (uint64_t g = generation_of(e.path()); g != 0) out.push_back(g);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The generation the public symlink points at, or 0.
uint64_t current_generation(const fs::path& link) {
  std::error_code ec;
  fs::path target = fs::read_symlink(link, ec);
  return ec ? 0 : generation_of(target);
}

std::chrono::system_clock::time_point mtime_of(const fs::path& p) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) return {};
  return std::chrono::system_clock::time_point(std::chrono::seconds(st.st_mtim.tv_sec));
}

void touch(const fs::path& p) { ::utimensat(AT_FDCWD, p.c_str(), nullptr, AT_SYMLINK_NOFOLLOW); }

// A generation's pool files: path ("pool/...") -> sha256.
using Manifest = std::unordered_map<std::string, std::string>;

fs::path manifest_path(const fs::path& gens, uint64_t g) {
  return gens / (std::to_string(g) + ".files");
}

// Reads generation g's manifest. A generation from before the shared pool has none: its own
// pool/ directory is listed instead (sha256 left empty).
Manifest read_manifest(const fs::path& gens, uint64_t g) {
  Manifest m;
  auto text = read_whole_file(manifest_path(gens, g), "manifest");
  if (text.ok()) {
    std::string_view rest = *text;
    while (!rest.empty()) {
      size_t eol = rest.find('\n');
      std::string_view line = rest.substr(0, eol);
      rest.remove_prefix(eol == std::string_view::npos ? rest.size() : eol + 1);
      size_t sp = line.find(' ');
      if (sp != std::string_view::npos) m.emplace(line.substr(sp + 1), line.substr(0, sp));
    }
    return m;
  }
  const fs::path gen = gens / std::to_string(g);
  std::error_code ec;
  if (!fs::is_directory(gen / "pool", ec) || fs::is_symlink(gen / "pool", ec)) return m;
  for (auto it = fs::recursive_directory_iterator(gen / "pool", ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) m.emplace(it->path().lexically_relative(gen).generic_string(), "");
  }
  return m;
}

Status write_manifest(const fs::path& path, const Manifest& m) {
  std::vector<std::pair<std::string_view, std::string_view>> lines(m.begin(), m.end());
  std::sort(lines.begin(), lines.end());
  std::string text;
  text.reserve(lines.size() * 120);
  for (const auto& [path, sha] : lines) text.append(sha).append(" ").append(path).append("\n");
  const fs::path tmp = path.string() + ".tmp";
  DEPOT_TRY(write_whole_file(tmp, text));
  if (::rename(tmp.c_str(), path.c_str()) != 0) return io_error(path, "rename");
  return {};
}

}  // namespace

uint64_t published_generation(const fs::path& public_dir, std::string_view repo) {
  return current_generation(public_dir / std::string(repo));
}

Result<PublishReport> publish_repo(PoolStore& store, std::string_view repo,
                                   const PublishSettings& settings) {
  PublishReport report;
  auto t0 = std::chrono::steady_clock::now();
  auto lap = [&t0](double& into) {
    auto t = std::chrono::steady_clock::now();
    into += std::chrono::duration<double, std::milli>(t - t0).count();
    t0 = t;
  };
  const std::string name(repo);
  const fs::path gens = settings.public_dir / ".generations" / name;
  const fs::path shared = gens / "pool";
  const fs::path link = settings.public_dir / name;
  std::error_code ec;
  if (fs::exists(link, ec) && !fs::is_symlink(link, ec)) {
    return make_error(ErrorCode::kRefused,
                      link.string() + " exists and is not a depot publication; not replacing it");
  }

  DEPOT_ASSIGN_OR_RETURN(std::vector<PackageText> texts, store.list_texts(repo));
  std::vector<const PackageText*> pkgs;
  pkgs.reserve(texts.size());
  for (const PackageText& p : texts) pkgs.push_back(&p);
  report.packages = pkgs.size();
  lap(report.ms.list);

  DEPOT_TRY(make_parents(shared));
  std::vector<uint64_t> existing = generations(gens);
  const uint64_t current = current_generation(link);
  // A generation above the current one was never made current: a publication a crash
  // interrupted. It goes (never carried), and the shared pool is swept below for links only it
  // made.
  bool interrupted = false;
  for (uint64_t g : existing) {
    if (g <= current) continue;
    interrupted = true;
    fs::remove(manifest_path(gens, g), ec);
    fs::remove_all(gens / std::to_string(g), ec);
    report.generations_removed++;
  }
  std::erase_if(existing, [current](uint64_t g) { return g > current; });
  const uint64_t next = std::max(existing.empty() ? 0 : existing.back(), current) + 1;
  const fs::path gen = gens / std::to_string(next);
  report.generation = next;
  // Made before any link: a crash from here on leaves a generation above the current one, which
  // the next publication removes, sweeping the links this one made.
  DEPOT_TRY(make_parents(gen));

  // Pool files are linked into the shared pool (unless the current generation already names
  // the same file at the same path) on a thread of their own while the indexes are rendered and
  // compressed: tens of thousands of links and directories are mostly time in the kernel. (Two
  // linking threads were slower than one: they contend for the same parent directories.)
  std::vector<std::pair<std::string, std::string>> wanted;  // pool path, sha256
  wanted.reserve(texts.size());
  for (const PackageText& p : texts) {
    wanted.emplace_back(pool_path(p, settings.component), p.file.digests.sha256);
  }
  Manifest mine;
  std::vector<fs::path> created;  // new paths, unlinked again if this publication fails
  std::vector<std::string> occupied;  // paths holding another file: decided after the join
  Status linked;
  std::thread linker([&] {
    try {
      const Manifest before = current != 0 ? read_manifest(gens, current) : Manifest{};
      std::unordered_set<std::string> seen_dirs;  // in a first publication: parents made so far
      mine.reserve(wanted.size());
      for (auto& [path, sha] : wanted) {
        auto it = before.find(path);
        if (it == before.end() || it->second != sha) {
          fs::path target = shared / path.substr(5);  // after "pool/"
          const bool new_parent =
              before.empty() && seen_dirs.insert(path.substr(0, path.rfind('/'))).second;
          auto placed = place_link(store.blob_path(sha), target, new_parent);
          if (!placed.ok()) {
            linked = placed.error();
            return;
          }
          if (*placed == Placed::kCreated) {
            created.push_back(std::move(target));
            report.pool_links++;
          }
          if (*placed == Placed::kOccupied) occupied.push_back(path);
        }
        auto [in_mine, fresh] = mine.try_emplace(std::move(path), std::move(sha));
        if (!fresh && in_mine->second != sha) {  // not moved from when not inserted
          linked = make_error(ErrorCode::kRefused, in_mine->first + ": two packages of " + name +
                                                       " have this pool file name");
          return;
        }
      }
      wanted = {};
    } catch (const std::exception& e) {
      linked = make_error(ErrorCode::kInternal, std::string("linking pool files: ") + e.what());
    }
  });
  JoinGuard join_linker{linker};

  // The Packages texts are rendered first; then the package records are dropped (a large
  // repository's records weigh more than its Packages text) before the compression.
  ReleaseInfo info;
  info.origin = settings.origin;
  info.label = settings.label.empty() ? name : settings.label;
  info.suite = name;
  info.codename = name;
  info.date = format_release_date(std::chrono::system_clock::now());
  info.architectures = settings.architectures;
  info.components = {settings.component};
  std::vector<ComponentPackages> components{{settings.component, pkgs}};
  auto prepared = prepare_publication(info, components);
  components.clear();
  pkgs = {};
  texts = {};

  PublicationStats stats;
  Result<std::vector<PublishedFile>> files =
      prepared.ok() ? finish_publication(std::move(prepared).value(), settings.index, &stats)
                    : Result<std::vector<PublishedFile>>(prepared.error());
  report.chunks_compressed = stats.compressed;
  report.chunks_reused = stats.reused;
  lap(report.ms.indexes);
  linker.join();
  lap(report.ms.links);

  auto abandon = [&](Error e) -> Error {
    std::error_code ignored;
    fs::remove_all(gen, ignored);
    fs::remove(manifest_path(gens, next), ignored);
    for (const fs::path& p : created) ::unlink(p.c_str());
    return e;
  };
  if (!files.ok()) return abandon(files.error());
  if (!linked.ok()) return abandon(linked.error());
  // A pool path holding another file: stale (no generation still served names it) is replaced;
  // named with other content by a generation a client may still use, the publication is
  // refused rather than changing a file under that client.
  if (!occupied.empty()) {
    const auto now = std::chrono::system_clock::now();
    std::vector<Manifest> live;
    for (uint64_t g : existing) {
      if (g == current || now - mtime_of(gens / std::to_string(g)) < settings.grace) {
        live.push_back(read_manifest(gens, g));
      }
    }
    for (const std::string& path : occupied) {
      const std::string& sha = mine.at(path);
      bool same = false;
      for (size_t i = 0; i < live.size(); ++i) {
        auto it = live[i].find(path);
        if (it == live[i].end() || it->second.empty()) continue;
        if (it->second != sha) {
          return abandon(make_error(
              ErrorCode::kRefused,
              (shared / path.substr(5)).string() + ": a publication of " + name +
                  " still in use serves other content (sha256 " + it->second +
                  ") under this name; refusing to change it under its clients (publish again "
                  "once it is older than the grace period)"));
        }
        same = true;
      }
      if (same) continue;  // already this content (a copy where linking failed)
      if (Status st = replace_link(store.blob_path(sha), shared / path.substr(5)); !st.ok()) {
        return abandon(st.error());
      }
      report.pool_links++;
    }
  }
  report.index_files = files->size();
  if (Status st = write_publication(*files, gen, /*sync=*/false); !st.ok()) {
    return abandon(st.error());
  }
  // Clients revalidate dists/ files with If-Modified-Since, a date of one-second resolution: a
  // file that replaces one written in the same second must not carry the same date, or a
  // client that fetched the old one gets 304 for the new one. The new files get a date past
  // the current generation's.
  {
    struct stat prev {};
    std::time_t stamp = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    const fs::path prev_release = gens / std::to_string(current) / "dists" / name / "Release";
    if (current != 0 && ::stat(prev_release.c_str(), &prev) == 0 &&
        prev.st_mtim.tv_sec >= stamp) {
      stamp = prev.st_mtim.tv_sec + 1;
    }
    const struct timespec times[2] = {{stamp, 0}, {stamp, 0}};
    for (const PublishedFile& f : *files) {
      if (::utimensat(AT_FDCWD, (gen / f.path).c_str(), times, 0) != 0) {
        return abandon(io_error(gen / f.path, "set mtime"));
      }
    }
  }
  fs::create_directory_symlink("../pool", gen / "pool", ec);
  if (ec) return abandon(make_error(ErrorCode::kIo, (gen / "pool").string() + ": " + ec.message()));
  lap(report.ms.write);

  // Generations superseded less than `grace` ago: their by-hash indexes (and the pool files of
  // a generation from before the shared pool) are carried.
  const auto now = std::chrono::system_clock::now();
  for (uint64_t g : existing) {
    const fs::path old = gens / std::to_string(g);
    if (g != current && now - mtime_of(old) >= settings.grace) continue;
    if (g == current && settings.grace.count() == 0) continue;
    for (auto it = fs::recursive_directory_iterator(old, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_symlink(ec) || !it->is_regular_file(ec)) continue;
      const std::string rel = it->path().lexically_relative(old).generic_string();
      fs::path target;
      if (rel.starts_with("pool/")) {
        if (mine.contains(rel)) continue;
        target = shared / rel.substr(5);
      } else if (rel.find("/by-hash/") != std::string::npos) {
        target = gen / rel;
      } else {
        continue;
      }
      if (fs::exists(target, ec)) continue;
      auto placed = place_link(it->path(), target);
      if (!placed.ok()) return abandon(placed.error());
      if (*placed != Placed::kCreated) continue;
      created.push_back(target);
      report.carried_files++;
    }
    if (ec) return abandon(make_error(ErrorCode::kIo, old.string() + ": " + ec.message()));
  }
  if (Status st = write_manifest(manifest_path(gens, next), mine); !st.ok()) {
    return abandon(st.error());
  }
  lap(report.ms.carry);
  if (Status st = sync_filesystem(gen); !st.ok()) return abandon(st.error());
  touch(gen);

  // The previous generation stops being current with the switch: its grace starts (a crash
  // right after the switch must not leave its grace counted from its creation).
  if (current != 0) touch(gens / std::to_string(current));
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
  lap(report.ms.sync);

  // Expired generations: first the pool files only they name, then the generation itself (a
  // crash in between repeats the removal at the next publication).
  std::vector<uint64_t> expired, live = {next};
  for (uint64_t g : existing) {
    bool gone = g == current ? settings.grace.count() == 0
                             : now - mtime_of(gens / std::to_string(g)) >= settings.grace;
    (gone ? expired : live).push_back(g);
  }
  if (expired.empty() && !interrupted) return report;
  std::unordered_set<std::string> named;
  for (const auto& [path, sha] : mine) named.insert(path);
  for (uint64_t g : live) {
    if (g == next) continue;
    for (const auto& [path, sha] : read_manifest(gens, g)) named.insert(path);
  }
  for (uint64_t g : expired) {
    for (const auto& [path, sha] : read_manifest(gens, g)) {
      if (named.contains(path)) continue;
      if (::unlink((shared / path.substr(5)).c_str()) == 0) report.pool_removed++;
    }
    fs::remove(manifest_path(gens, g), ec);
    fs::remove_all(gens / std::to_string(g), ec);
    if (!ec) report.generations_removed++;
  }
  if (interrupted) {
    for (auto it = fs::recursive_directory_iterator(shared, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_symlink(ec) || !it->is_regular_file(ec)) continue;
      if (named.contains("pool/" + it->path().lexically_relative(shared).generic_string())) continue;
      if (::unlink(it->path().c_str()) == 0) report.pool_removed++;
    }
  }
  lap(report.ms.cleanup);
  return report;
}

}  // namespace depot::pool

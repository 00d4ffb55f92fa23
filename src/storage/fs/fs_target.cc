// Local filesystem Target. Directories are walked with O_NOFOLLOW so a symlink planted inside
// the tree cannot redirect a write, read or removal outside it.

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <set>
#include <vector>

#include "storage/fs/fs_target.h"

#include "core/unique_fd.h"

namespace depot {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kWritebackChunk = 8ull << 20;

Error io_error(const std::string& what, int err) {
  return make_error(ErrorCode::kIo, what + ": " + std::strerror(err),
                    err == EINTR || err == EAGAIN);
}

using Fd = UniqueFd;

class FsWriteTxn final : public WriteTxn {
 public:
  FsWriteTxn(RelPath path, fs::path temp, int fd)
      : path_(std::move(path)), temp_(std::move(temp)), fd_(fd) {}
  ~FsWriteTxn() override {
    direct_fd_.reset();
    fd_.reset();
    if (!committed_) ::unlink(temp_.c_str());
  }

  Status write(std::span<const std::byte> data) override { return write_at(fd_.get(), data, true); }

  Status write_aligned(std::span<const std::byte> data) override {
    if (direct_fd_.get() < 0 && !direct_failed_ && written_ == 0 && fd_.get() >= 0) {
      // Same file, second description: bulk blocks skip the page cache; the unaligned tail
      // still goes through fd_.
      int fd = ::open(temp_.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC);
      if (fd < 0) {
        direct_failed_ = true;  // e.g. tmpfs: fall back to buffered writes
      } else {
        direct_fd_ = Fd(fd);
      }
    }
    if (direct_fd_.get() >= 0) {
      Status s = write_at(direct_fd_.get(), data, false);
      if (s.ok() || direct_failed_) return s;
    }
    return write_at(fd_.get(), data, true);
  }

  // pwrite()s `data` at the current end; `hint` starts write-back of buffered data early.
  Status write_at(int fd, std::span<const std::byte> data, bool hint) {
    if (fd < 0) return make_error(ErrorCode::kInternal, temp_.string() + ": write after close");
    const std::byte* p = data.data();
    size_t left = data.size();
    while (left > 0) {
      ssize_t n = ::pwrite(fd, p, left, static_cast<off_t>(written_));
      if (n < 0) {
        if (errno == EINTR) continue;
        if (fd == direct_fd_.get() && errno == EINVAL && !direct_failed_) {
          direct_failed_ = true;  // the filesystem refuses direct I/O after all
          direct_fd_.reset();
          return write_at(fd_.get(), std::span(p, left), hint);
        }
        return io_error("writing " + path_.str(), errno);
      }
      p += n;
      left -= static_cast<size_t>(n);
      written_ += static_cast<uint64_t>(n);
    }
    if (hint && written_ - hinted_ >= kWritebackChunk) {
      // Start write-back now, asynchronously, so the batched sync before commit finds little
      // left to do and the disk works while the network does.
      ::sync_file_range(fd, static_cast<off64_t>(hinted_),
                        static_cast<off64_t>(written_ - hinted_), SYNC_FILE_RANGE_WRITE);
      hinted_ = written_;
    }
    return ok_status();
  }

  Status reset() override {
    if (fd_.get() < 0) return make_error(ErrorCode::kInternal, temp_.string() + ": reset after close");
    if (::ftruncate(fd_.get(), 0) != 0) {
      return io_error("truncating " + temp_.string(), errno);
    }
    written_ = 0;
    hinted_ = 0;
    return ok_status();
  }

  uint64_t bytes_written() const override { return written_; }
  const RelPath& path() const override { return path_; }
  const fs::path& temp_path() const { return temp_; }

  Result<std::unique_ptr<ByteSource>> open_read() override {
    if (fd_.get() >= 0) return make_error(ErrorCode::kInternal, path_.str() + ": read before close");
    return open_file_source(temp_, path_.str());
  }

  Status close() override {
    direct_fd_.reset();
    if (fd_.get() >= 0) {
      int fd = fd_.release();
      if (::close(fd) != 0 && errno != EINTR) return io_error("closing " + temp_.string(), errno);
    }
    return ok_status();
  }

  bool closed() const { return fd_.get() < 0; }
  void mark_committed() { committed_ = true; }

 private:
  RelPath path_;
  fs::path temp_;
  Fd fd_;
  uint64_t written_ = 0;
  uint64_t hinted_ = 0;  // bytes whose write-back has been started
  Fd direct_fd_;         // O_DIRECT description of the same file, once write_aligned is used
  bool direct_failed_ = false;
  bool committed_ = false;
};

class FsTargetImpl final : public Target {
 public:
  FsTargetImpl(fs::path root, Fd root_fd, Fd tmp_fd)
      : root_(std::move(root)), root_fd_(std::move(root_fd)), tmp_fd_(std::move(tmp_fd)) {}

  std::string describe() const override { return root_.string(); }

  Result<std::unique_ptr<WriteTxn>> begin_write(const RelPath& path, const WriteHints&) override {
    std::string name = temp_name(path);
    int fd = ::openat(tmp_fd_.get(), name.c_str(),
                      O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) return io_error("creating temporary file for " + path.str(), errno);
    return std::unique_ptr<WriteTxn>(
        std::make_unique<FsWriteTxn>(path, tmp_dir() / name, fd));
  }

  Status commit(std::vector<std::unique_ptr<WriteTxn>>& txns) override {
    if (txns.empty()) return ok_status();
    for (auto& t : txns) {
      if (!static_cast<FsWriteTxn*>(t.get())->closed()) {
        return make_error(ErrorCode::kInternal, t->path().str() + ": commit before close");
      }
    }
    // One batched sync makes every temporary file's data durable before any rename.
    if (::syncfs(tmp_fd_.get()) != 0) return io_error("syncing " + root_.string(), errno);
    constexpr size_t kMaxDirFsyncs = 8;
    DirStack walk;
    std::set<std::string> parents;  // up to kMaxDirFsyncs + 1: beyond, one syncfs does
    for (auto& t : txns) {
      auto* txn = static_cast<FsWriteTxn*>(t.get());
      std::string parent = txn->path().parent();
      DEPOT_ASSIGN_OR_RETURN(int dir, open_dir_near(walk, parent));
      std::string final_name(txn->path().filename());
      std::string temp_name = txn->temp_path().filename().string();
      // The modification time is the moment the file becomes visible: static servers report it
      // as Last-Modified, and each published generation must look newer than the one before.
      (void)::utimensat(tmp_fd_.get(), temp_name.c_str(), nullptr, 0);
      if (::renameat(tmp_fd_.get(), temp_name.c_str(), dir, final_name.c_str()) != 0) {
        return io_error("committing " + txn->path().str(), errno);
      }
      txn->mark_committed();
      if (parents.size() <= kMaxDirFsyncs) parents.insert(std::move(parent));
    }
    // The renames become durable with a fsync of each directory touched, or, when there are
    // many (one directory per package in an apt pool) or new directories whose entries in
    // their parents must be durable too, with one more filesystem-wide sync.
    if (parents.size() > kMaxDirFsyncs || !created_dirs_.empty()) {
      if (::syncfs(root_fd_.get()) != 0) return io_error("syncing " + root_.string(), errno);
      created_dirs_.clear();
      return ok_status();
    }
    for (const auto& name : parents) {
      DEPOT_ASSIGN_OR_RETURN(Fd fd, open_dir(name, /*create=*/false));
      if (::fsync(fd.get()) != 0) return io_error("syncing directory of " + name, errno);
    }
    return ok_status();
  }

  Result<std::optional<FileStat>> stat(const RelPath& path) override {
    auto dir = open_dir(path.parent(), /*create=*/false);
    if (!dir.ok()) {
      if (dir.error().code == ErrorCode::kNotFound) return std::optional<FileStat>();
      return dir.error();
    }
    struct stat st {};
    std::string name(path.filename());
    if (::fstatat(dir->get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) return std::optional<FileStat>();
      return io_error("stat " + path.str(), errno);
    }
    if (!S_ISREG(st.st_mode)) return std::optional<FileStat>();
    return std::optional<FileStat>(
        FileStat{static_cast<uint64_t>(st.st_size),
                 static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec});
  }

  Result<std::unique_ptr<ByteSource>> open_read(const RelPath& path) override {
    auto dir = open_dir(path.parent(), /*create=*/false);
    if (!dir.ok() && dir.error().code == ErrorCode::kNotFound) {
      return make_error(ErrorCode::kNotFound, path.str() + ": not in " + root_.string());
    }
    if (!dir.ok()) return dir.error();
    std::string name(path.filename());
    int fd = ::openat(dir->get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return make_error(ErrorCode::kNotFound, path.str() + ": not in " + root_.string());
      return io_error("opening " + (root_ / path.str()).string(), errno);
    }
    return fd_source(Fd(fd), (root_ / path.str()).string());
  }

  Status remove(const RelPath& path) override {
    auto dir = open_dir(path.parent(), /*create=*/false);
    if (!dir.ok()) return dir.error().code == ErrorCode::kNotFound ? ok_status() : dir.error();
    std::string name(path.filename());
    if (::unlinkat(dir->get(), name.c_str(), 0) != 0 && errno != ENOENT) {
      return io_error("removing " + path.str(), errno);
    }
    // Prune parents that became empty; stop at the first non-empty one.
    std::string parent = path.parent();
    while (!parent.empty()) {
      auto slash = parent.rfind('/');
      std::string up = slash == std::string::npos ? "" : parent.substr(0, slash);
      std::string leaf = slash == std::string::npos ? parent : parent.substr(slash + 1);
      auto updir = open_dir(up, false);
      if (!updir.ok()) break;
      if (::unlinkat(updir->get(), leaf.c_str(), AT_REMOVEDIR) != 0) break;
      parent = up;
    }
    return ok_status();
  }

  Status list(const std::function<void(const RelPath&, const FileStat&)>& fn) override {
    Fd dir(::dup(root_fd_.get()));
    if (dir.get() < 0) return io_error("dup", errno);
    return list_dir(std::move(dir), "", fn);
  }

  Status clear_debris() override {
    std::error_code ec;
    for (auto& e : fs::directory_iterator(tmp_dir(), ec)) {
      fs::remove_all(e.path(), ec);
      if (ec) return make_error(ErrorCode::kIo, "removing " + e.path().string() + ": " + ec.message());
    }
    if (ec) return make_error(ErrorCode::kIo, "listing " + tmp_dir().string() + ": " + ec.message());
    return ok_status();
  }

 private:
  fs::path tmp_dir() const { return root_ / ".depot" / "tmp"; }

  // Reports every regular file below the open directory `dir` (the tree's `rel`), one
  // fstatat each, symlinks and the top-level private state skipped. Takes ownership of `dir`.
  Status list_dir(Fd dir, const std::string& rel,
                  const std::function<void(const RelPath&, const FileStat&)>& fn) {
    DIR* d = ::fdopendir(dir.get());
    if (d == nullptr) return io_error("listing " + (root_ / rel).string(), errno);
    (void)dir.release();
    std::unique_ptr<DIR, int (*)(DIR*)> closer(d, ::closedir);
    while (dirent* e = ::readdir(d)) {
      std::string_view name = e->d_name;
      if (name == "." || name == ".." || (rel.empty() && name.starts_with(".depot"))) continue;
      struct stat st {};
      if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      std::string child = rel.empty() ? std::string(name) : rel + "/" + std::string(name);
      if (S_ISDIR(st.st_mode)) {
        int fd = ::openat(::dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) return io_error("listing " + (root_ / child).string(), errno);
        DEPOT_TRY(list_dir(Fd(fd), child, fn));
      } else if (S_ISREG(st.st_mode)) {
        auto path = RelPath::parse(child);
        if (!path.ok()) continue;
        fn(*path, FileStat{static_cast<uint64_t>(st.st_size),
                           static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 +
                               st.st_mtim.tv_nsec});
      }
    }
    return ok_status();
  }

  std::string temp_name(const RelPath& path) {
    static std::atomic<uint64_t> counter{0};
    std::string base(path.filename());
    if (base.size() > 100) base.resize(100);
    return std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + base + ".part";
  }

  // Opens directory `rel` ("" = root) walking each component with O_NOFOLLOW; creates missing
  // components when `create`.
  Result<Fd> open_dir(const std::string& rel, bool create) {
    Fd cur(::dup(root_fd_.get()));
    if (cur.get() < 0) return io_error("dup", errno);
    for (size_t start = 0; start < rel.size();) {
      size_t end = std::min(rel.find('/', start), rel.size());
      DEPOT_ASSIGN_OR_RETURN(cur, open_component(cur.get(), rel, start, end, create));
      start = end + 1;
    }
    return cur;
  }

  // The open directories of the path a commit walked last, root side first, each with the
  // offset in `path` where its name ends. Holds one descriptor per component at most.
  struct DirStack {
    std::string path;
    std::vector<std::pair<size_t, Fd>> open;
    bool created = false;  // the last walk created a directory: the next one likely will too
  };

  // Like open_dir(rel, true), but keeps the directories of `rel` open in `stack` and walks only
  // the components that differ from the previous call's path: files in neighbouring
  // directories (an apt pool has one per package) cost one lookup each, not one per component.
  // After a walk that created a directory (a first mirror), missing components are created
  // before they are looked up. The descriptor returned belongs to `stack` and stays valid until
  // its next use.
  Result<int> open_dir_near(DirStack& stack, const std::string& rel) {
    size_t keep = 0;
    while (keep < stack.open.size()) {
      size_t end = stack.open[keep].first;
      if (end > rel.size() || (end < rel.size() && rel[end] != '/') ||
          rel.compare(0, end, stack.path, 0, end) != 0) {
        break;
      }
      ++keep;
    }
    stack.open.resize(keep);
    stack.path = rel;
    const size_t created_before = created_dirs_.size();
    int cur = keep > 0 ? stack.open.back().second.get() : root_fd_.get();
    for (size_t start = keep > 0 ? stack.open.back().first + 1 : 0; start < rel.size();) {
      size_t end = std::min(rel.find('/', start), rel.size());
      DEPOT_ASSIGN_OR_RETURN(Fd fd, open_component(cur, rel, start, end, /*create=*/true,
                                                   /*mkdir_first=*/stack.created));
      cur = fd.get();
      stack.open.emplace_back(end, std::move(fd));
      start = end + 1;
    }
    stack.created = created_dirs_.size() > created_before;
    return cur;
  }

  // Opens the component rel[start, end) under `parent` with O_NOFOLLOW, creating it first when
  // missing and `create`. `mkdir_first`: try the creation before the lookup (one call fewer
  // for a directory that does not exist yet, one more for one that does).
  Result<Fd> open_component(int parent, const std::string& rel, size_t start, size_t end,
                            bool create, bool mkdir_first = false) {
    constexpr int kFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    const std::string comp = rel.substr(start, end - start);
    // `was_missing`: the lookup just failed, so an EEXIST is a concurrent creation, which must
    // be made durable like ours.
    auto make = [&](bool was_missing) -> Status {
      if (::mkdirat(parent, comp.c_str(), 0755) == 0 || (was_missing && errno == EEXIST)) {
        created_dirs_.push_back(rel.substr(0, end));
      } else if (errno != EEXIST) {
        return io_error("creating directory " + rel.substr(0, end), errno);
      }
      return ok_status();
    };
    if (create && mkdir_first) DEPOT_TRY(make(/*was_missing=*/false));
    int fd = ::openat(parent, comp.c_str(), kFlags);
    if (fd < 0 && errno == ENOENT && create && !mkdir_first) {
      DEPOT_TRY(make(/*was_missing=*/true));
      fd = ::openat(parent, comp.c_str(), kFlags);
    }
    if (fd >= 0) return Fd(fd);
    if (errno == ENOENT) {
      return make_error(ErrorCode::kNotFound, rel.substr(0, end) + ": no such directory");
    }
    if (errno == ELOOP || errno == ENOTDIR) {
      return make_error(
          ErrorCode::kUnsafePath,
          rel.substr(0, end) + ": not a directory (symlink or file) in " + root_.string());
    }
    return io_error("opening directory " + rel.substr(0, end), errno);
  }

  fs::path root_;
  Fd root_fd_;
  Fd tmp_fd_;
  std::vector<std::string> created_dirs_;
};

}  // namespace

Result<std::unique_ptr<Target>> open_fs_target(const fs::path& root) {
  std::error_code ec;
  fs::create_directories(root / ".depot" / "tmp", ec);
  if (ec) return make_error(ErrorCode::kIo, "creating " + (root / ".depot/tmp").string() + ": " + ec.message());
  fs::path abs = fs::absolute(root, ec);
  Fd root_fd(::open(abs.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (root_fd.get() < 0) return io_error("opening " + abs.string(), errno);
  Fd tmp_fd(::open((abs / ".depot" / "tmp").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (tmp_fd.get() < 0) return io_error("opening " + (abs / ".depot/tmp").string(), errno);
  return std::unique_ptr<Target>(
      std::make_unique<FsTargetImpl>(abs, std::move(root_fd), std::move(tmp_fd)));
}

}  // namespace depot

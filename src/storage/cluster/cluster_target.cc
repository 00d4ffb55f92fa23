#include "storage/cluster/cluster_target.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "core/digest.h"

namespace depot {
namespace {

namespace fs = std::filesystem;

Error io_error(const std::string& what, int err) {
  return make_error(ErrorCode::kIo, what + ": " + std::strerror(err));
}

struct Shared {
  GatewayClient client;
  ClusterTargetOptions opts;

  explicit Shared(ClusterTargetOptions o) : client(o.gateway), opts(std::move(o)) {}

  // An anonymous file in the spool directory (gone when closed).
  Result<UniqueFd> spool_file() const {
    int fd = ::open(opts.spool_dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) return io_error("creating a spool file in " + opts.spool_dir.string(), errno);
    return UniqueFd(fd);
  }
};

// One file being written: spooled and hashed. Not thread-safe (Target's contract).
class ClusterWriteTxn final : public WriteTxn {
 public:
  ClusterWriteTxn(std::shared_ptr<Shared> shared, RelPath path, UniqueFd spool)
      : shared_(std::move(shared)), path_(std::move(path)), spool_(std::move(spool)) {}

  const RelPath& path() const override { return path_; }
  uint64_t bytes_written() const override { return written_; }

  Status write(std::span<const std::byte> data) override {
    if (closed_) return make_error(ErrorCode::kInternal, path_.str() + ": write after close");
    hasher_.update(data);
    while (!data.empty()) {
      ssize_t n = ::write(spool_.get(), data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return io_error(spool_name(), errno);
      data = data.subspan(static_cast<size_t>(n));
      written_ += static_cast<uint64_t>(n);
    }
    return ok_status();
  }

  Status reset() override {
    if (::ftruncate(spool_.get(), 0) != 0 || ::lseek(spool_.get(), 0, SEEK_SET) != 0) {
      return io_error(spool_name(), errno);
    }
    hasher_.reset();
    written_ = 0;
    closed_ = false;
    return ok_status();
  }

  Status close() override {
    if (!closed_) sha256_ = hasher_.finish().sha256;
    closed_ = true;
    return ok_status();
  }

  Result<std::unique_ptr<ByteSource>> open_read() override {
    if (!closed_) return make_error(ErrorCode::kInternal, path_.str() + ": read before close");
    std::string proc = "/proc/self/fd/" + std::to_string(spool_.get());
    int fd = ::open(proc.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return io_error("reopening " + spool_name(), errno);
    return fd_source(UniqueFd(fd), spool_name());
  }

  bool closed() const { return closed_; }

  // PUTs the spooled bytes; the file is visible (with every copy) when this succeeds.
  Status upload() const {
    Status s = shared_->client.put(path_.str(), spool_.get(), written_, sha256_);
    if (s.ok()) return s;
    Error e = s.error();
    e.message = path_.str() + ": " + e.message;
    return e;
  }

 private:
  std::string spool_name() const {
    return shared_->opts.spool_dir.string() + " (spool of " + path_.str() + ")";
  }

  std::shared_ptr<Shared> shared_;
  RelPath path_;
  UniqueFd spool_;
  Hasher hasher_{digest_bit(DigestAlgo::kSha256)};
  std::string sha256_;
  uint64_t written_ = 0;
  bool closed_ = false;
};

class ClusterTarget final : public Target {
 public:
  explicit ClusterTarget(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}

  std::string describe() const override { return shared_->client.describe(); }

  Result<std::unique_ptr<WriteTxn>> begin_write(const RelPath& path, const WriteHints&) override {
    DEPOT_ASSIGN_OR_RETURN(UniqueFd fd, shared_->spool_file());
    return std::unique_ptr<WriteTxn>(std::make_unique<ClusterWriteTxn>(shared_, path, std::move(fd)));
  }

  Status commit(std::vector<std::unique_ptr<WriteTxn>>& txns) override;

  Result<std::optional<FileStat>> stat(const RelPath& path) override {
    DEPOT_ASSIGN_OR_RETURN(auto f, shared_->client.head(path.str()));
    if (!f) return std::optional<FileStat>();
    return std::optional<FileStat>(FileStat{f->size, 0});
  }

  Result<std::optional<Digests>> stored_digests(const RelPath& path) override {
    DEPOT_ASSIGN_OR_RETURN(auto f, shared_->client.head(path.str()));
    if (!f) return std::optional<Digests>();
    Digests d;
    d.sha256 = f->sha256;
    return std::optional<Digests>(std::move(d));
  }

  Result<std::unique_ptr<ByteSource>> open_read(const RelPath& path) override {
    DEPOT_ASSIGN_OR_RETURN(UniqueFd fd, shared_->spool_file());
    DEPOT_TRY(shared_->client.get(path.str(), fd.get()));
    const std::string name = shared_->client.url(path.str());
    if (::lseek(fd.get(), 0, SEEK_SET) != 0) return io_error(name, errno);
    return fd_source(std::move(fd), name);
  }

  Status remove(const RelPath& path) override { return shared_->client.remove(path.str()); }

  Status list(const std::function<void(const RelPath&, const FileStat&)>& fn) override {
    return shared_->client.list([&](const std::string& rel, const GatewayFile& f) -> Status {
      auto path = RelPath::parse(rel);
      if (path.ok()) fn(*path, FileStat{f.size, 0});  // names depot never writes are not its files
      return ok_status();
    });
  }

  Status clear_debris() override {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(shared_->opts.spool_dir, ec)) fs::remove_all(e.path(), ec);
    if (ec) return make_error(ErrorCode::kIo, shared_->opts.spool_dir.string() + ": " + ec.message());
    return ok_status();
  }

 private:
  std::shared_ptr<Shared> shared_;
};

Status ClusterTarget::commit(std::vector<std::unique_ptr<WriteTxn>>& txns) {
  std::vector<ClusterWriteTxn*> todo;
  for (auto& t : txns) {
    auto* txn = static_cast<ClusterWriteTxn*>(t.get());
    if (!txn->closed()) return make_error(ErrorCode::kInternal, txn->path().str() + ": commit before close");
    todo.push_back(txn);
  }
  std::vector<std::optional<Error>> errors(todo.size());
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  auto work = [&] {
    for (size_t i; !failed && (i = next++) < todo.size();) {
      Status s = todo[i]->upload();
      if (!s.ok()) {
        errors[i] = s.error();
        failed = true;
      }
    }
  };
  const size_t n = std::min(shared_->opts.parallel, todo.size());
  if (n <= 1) {
    work();
  } else {
    std::vector<std::jthread> threads;
    for (size_t t = 0; t < n; ++t) threads.emplace_back(work);
  }
  for (auto& e : errors) {
    if (e) return *e;
  }
  return ok_status();
}

}  // namespace

Result<std::unique_ptr<Target>> open_cluster_target(ClusterTargetOptions options) {
  std::error_code ec;
  fs::create_directories(options.spool_dir, ec);
  if (ec) return make_error(ErrorCode::kIo, options.spool_dir.string() + ": " + ec.message());
  if (options.parallel == 0) options.parallel = 1;
  auto shared = std::make_shared<Shared>(std::move(options));
  return std::unique_ptr<Target>(std::make_unique<ClusterTarget>(std::move(shared)));
}

}  // namespace depot

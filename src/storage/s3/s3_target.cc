#include "storage/s3/s3_target.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

#include "core/digest.h"

namespace depot {
namespace {

namespace fs = std::filesystem;

Error io_error(const std::string& what, int err) {
  return make_error(ErrorCode::kIo, what + ": " + std::strerror(err));
}

// A failure of the bucket (endpoint unreachable, a refusal, a bad answer) is a storage failure:
// kIo, as FsTarget's, so that the engine never takes it for an upstream one (reading the
// committed index during the snapshot, say). kNotFound, unsafe keys and internal errors keep
// their codes; the message and the transient flag are kept.
template <class R>
R on_bucket(R r) {
  if (r.ok()) return r;
  Error e = r.error();
  switch (e.code) {
    case ErrorCode::kNetwork:
    case ErrorCode::kUnreachable:
    case ErrorCode::kHttp:
    case ErrorCode::kDigestMismatch:
    case ErrorCode::kSizeMismatch:
    case ErrorCode::kParse:
      e.code = ErrorCode::kIo;
      break;
    default:
      break;
  }
  return R(std::move(e));
}

Status write_fd(int fd, std::span<const std::byte> data, const std::string& name) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error(name, errno);
    data = data.subspan(static_cast<size_t>(n));
  }
  return ok_status();
}

// Fills `buf` from `fd` at `offset` (short only at the end of the file).
Result<size_t> pread_full(int fd, std::span<std::byte> buf, uint64_t offset, const std::string& name) {
  size_t got = 0;
  while (got < buf.size()) {
    ssize_t n = ::pread(fd, buf.data() + got, buf.size() - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error(name, errno);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  return got;
}

// Bytes streamed into a local file, rewound on reset().
class FdSink final : public ByteSink {
 public:
  FdSink(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  Status write(std::span<const std::byte> data) override {
    DEPOT_TRY(write_fd(fd_, data, name_));
    written_ += data.size();
    return ok_status();
  }
  Status reset() override {
    if (::ftruncate(fd_, 0) != 0 || ::lseek(fd_, 0, SEEK_SET) != 0) return io_error(name_, errno);
    written_ = 0;
    return ok_status();
  }
  uint64_t bytes_written() const override { return written_; }

 private:
  int fd_;
  std::string name_;
  uint64_t written_ = 0;
};

struct Shared {
  std::shared_ptr<S3Client> client;
  S3TargetOptions opts;
  std::atomic<uint64_t> spool_seq{0};

  // An anonymous file in the spool directory (gone when closed).
  Result<UniqueFd> spool_file() {
    int fd = ::open(opts.spool_dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) return io_error("creating a spool file in " + opts.spool_dir.string(), errno);
    return UniqueFd(fd);
  }
};

// One object being written. Not thread-safe (Target's contract).
class S3WriteTxn final : public WriteTxn {
 public:
  S3WriteTxn(std::shared_ptr<Shared> shared, RelPath path, const WriteHints& hints)
      : shared_(std::move(shared)), path_(std::move(path)), readable_(hints.readable),
        expected_sha256_(hints.sha256) {
    if (!readable_ && hints.size > 0) buffer_.reserve(std::min<uint64_t>(hints.size, shared_->opts.part_size));
  }
  ~S3WriteTxn() override {
    if (!upload_id_.empty() && !committed_) {
      (void)shared_->client->abort_multipart(path_.str(), upload_id_);
    }
  }

  Status open_spool() {
    DEPOT_ASSIGN_OR_RETURN(spool_, shared_->spool_file());
    return ok_status();
  }

  const RelPath& path() const override { return path_; }
  uint64_t bytes_written() const override { return written_; }

  Status write(std::span<const std::byte> data) override { return on_bucket(append(data)); }

  Status reset() override { return on_bucket(restart()); }

  Status close() override {
    closed_ = true;
    return ok_status();
  }

  Status append(std::span<const std::byte> data) {
    if (closed_) return make_error(ErrorCode::kInternal, path_.str() + ": write after close");
    written_ += data.size();
    if (readable_) return write_fd(spool_.get(), data, spool_name());
    const auto* p = reinterpret_cast<const char*>(data.data());
    buffer_.append(p, data.size());
    while (buffer_.size() >= shared_->opts.part_size) DEPOT_TRY(upload_buffered_part());
    return ok_status();
  }

  Status restart() {
    DEPOT_TRY(abort_upload());
    buffer_.clear();
    written_ = 0;
    if (readable_) return FdSink(spool_.get(), spool_name()).reset();
    return ok_status();
  }

  Result<std::unique_ptr<ByteSource>> open_read() override {
    if (!closed_) return make_error(ErrorCode::kInternal, path_.str() + ": read before close");
    if (!readable_) {
      return make_error(ErrorCode::kInvalidArgument, path_.str() + ": not begun readable");
    }
    int fd = ::open(("/proc/self/fd/" + std::to_string(spool_.get())).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return io_error("reopening " + spool_name(), errno);
    return fd_source(UniqueFd(fd), spool_name());
  }

  bool closed() const { return closed_; }
  bool committed() const { return committed_; }
  void mark_committed() { committed_ = true; }

  // Whether the object can go up in one PUT of in-memory bytes (load_small() first).
  bool single_put() const { return upload_id_.empty() && (!readable_ || written_ <= shared_->opts.part_size); }
  // For a spooled transaction that fits one PUT: reads the spool into the buffer.
  Status load_small() {
    if (!readable_ || !buffer_.empty() || written_ == 0) return ok_status();
    buffer_.resize(written_);
    auto span = std::as_writable_bytes(std::span(buffer_.data(), buffer_.size()));
    DEPOT_ASSIGN_OR_RETURN(size_t got, pread_full(spool_.get(), span, 0, spool_name()));
    if (got != written_) return make_error(ErrorCode::kIo, spool_name() + ": shorter than written");
    return ok_status();
  }
  std::span<const std::byte> buffered() const { return std::as_bytes(std::span(buffer_.data(), buffer_.size())); }
  // The sha256 to declare for a single PUT: the one the caller verifies before commit when
  // given (the server then checks the bytes sent against it), else computed here.
  std::string body_sha256() const {
    return expected_sha256_.empty() ? sha256_hex(buffered()) : expected_sha256_;
  }
  void release_buffer() { std::string().swap(buffer_); }

  // Uploads what is left (spooled parts, then the buffered tail) and completes the upload; the
  // object then has exactly written_ bytes, or this fails naming it.
  Status finish_multipart() {
    if (readable_) DEPOT_TRY(upload_spool());
    if (!buffer_.empty() || parts_.empty()) DEPOT_TRY(upload_part(buffered()));
    auto& client = *shared_->client;
    DEPOT_TRY(client.complete_multipart(path_.str(), upload_id_, parts_));
    committed_ = true;  // visible now; nothing to abort
    DEPOT_ASSIGN_OR_RETURN(auto info, client.head(path_.str()));
    if (!info || info->size != written_) {
      return make_error(ErrorCode::kSizeMismatch,
                        client.url(path_.str()) + ": completed upload does not hold the " +
                            std::to_string(written_) + " bytes written");
    }
    return ok_status();
  }

 private:
  std::string spool_name() const { return shared_->opts.spool_dir.string() + " (spool of " + path_.str() + ")"; }

  Status upload_part(std::span<const std::byte> body) {
    if (upload_id_.empty()) {
      DEPOT_ASSIGN_OR_RETURN(upload_id_,
                             shared_->client->create_multipart(path_.str(), {}, expected_sha256_));
    }
    int number = static_cast<int>(parts_.size()) + 1;
    DEPOT_ASSIGN_OR_RETURN(std::string etag, shared_->client->upload_part(path_.str(), upload_id_, number,
                                                                 body, sha256_hex(body)));
    parts_.push_back(S3Part{number, std::move(etag)});
    return ok_status();
  }

  Status upload_buffered_part() {
    const size_t n = shared_->opts.part_size;
    DEPOT_TRY(upload_part(std::as_bytes(std::span(buffer_.data(), n))));
    buffer_.erase(0, n);
    return ok_status();
  }

  // Uploads the spool file part by part into buffer_, leaving the last part buffered.
  Status upload_spool() {
    const size_t n = shared_->opts.part_size;
    buffer_.resize(n);
    uint64_t offset = 0;
    for (;;) {
      auto span = std::as_writable_bytes(std::span(buffer_.data(), n));
      DEPOT_ASSIGN_OR_RETURN(size_t got, pread_full(spool_.get(), span, offset, spool_name()));
      offset += got;
      if (offset >= written_) {
        buffer_.resize(got);
        return ok_status();
      }
      DEPOT_TRY(upload_part(std::as_bytes(std::span(buffer_.data(), got))));
    }
  }

  Status abort_upload() {
    if (upload_id_.empty()) return ok_status();
    Status s = shared_->client->abort_multipart(path_.str(), upload_id_);
    upload_id_.clear();
    parts_.clear();
    return s;
  }

  std::shared_ptr<Shared> shared_;
  RelPath path_;
  bool readable_;
  std::string expected_sha256_;  // stored with a multipart object (verified before completion)
  UniqueFd spool_;
  std::string buffer_;  // bytes not yet uploaded (at most one part)
  uint64_t written_ = 0;
  std::string upload_id_;
  std::vector<S3Part> parts_;
  bool closed_ = false;
  bool committed_ = false;
};

class S3Target final : public Target {
 public:
  explicit S3Target(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}

  std::string describe() const override { return shared_->client->url(""); }

  Result<std::unique_ptr<WriteTxn>> begin_write(const RelPath& path, const WriteHints& hints) override {
    DEPOT_TRY(check_s3_key(shared_->client->where(), path.str()));
    auto txn = std::make_unique<S3WriteTxn>(shared_, path, hints);
    if (hints.readable) DEPOT_TRY(txn->open_spool());
    return std::unique_ptr<WriteTxn>(std::move(txn));
  }

  Status commit(std::vector<std::unique_ptr<WriteTxn>>& txns) override {
    return on_bucket(commit_all(txns));
  }

  Result<std::optional<FileStat>> stat(const RelPath& path) override {
    auto info = on_bucket(shared_->client->head(path.str()));
    if (!info.ok()) return info.error();
    if (!*info) return std::optional<FileStat>();
    return std::optional<FileStat>(to_stat(**info));
  }

  Result<std::optional<Digests>> stored_digests(const RelPath& path) override {
    DEPOT_ASSIGN_OR_RETURN(auto info, on_bucket(shared_->client->head(path.str())));
    if (!info || info->sha256.empty()) return std::optional<Digests>();
    Digests d;
    d.sha256 = info->sha256;
    return std::optional<Digests>(std::move(d));
  }

  Result<std::unique_ptr<ByteSource>> open_read(const RelPath& path) override {
    DEPOT_ASSIGN_OR_RETURN(UniqueFd fd, shared_->spool_file());
    FdSink sink(fd.get(), shared_->client->url(path.str()));
    DEPOT_TRY(on_bucket(shared_->client->get(path.str(), sink)));
    if (::lseek(fd.get(), 0, SEEK_SET) != 0) return io_error(shared_->client->url(path.str()), errno);
    return fd_source(std::move(fd), shared_->client->url(path.str()));
  }

  Status remove(const RelPath& path) override { return on_bucket(shared_->client->remove(path.str())); }

  Status list(const std::function<void(const RelPath&, const FileStat&)>& fn) override {
    return on_bucket(shared_->client->list([&](const S3ObjectInfo& info) -> Status {
      auto path = RelPath::parse(info.key);
      if (path.ok()) fn(*path, to_stat(info));  // keys depot never writes are not its files
      return ok_status();
    }));
  }

  Status clear_debris() override {
    DEPOT_TRY(on_bucket(shared_->client->list_multipart_uploads([&](const S3Upload& u) {
      return shared_->client->abort_multipart(u.key, u.upload_id);
    })));
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(shared_->opts.spool_dir, ec)) fs::remove_all(e.path(), ec);
    return ok_status();
  }

 private:
  Status commit_all(std::vector<std::unique_ptr<WriteTxn>>& txns);

  static FileStat to_stat(const S3ObjectInfo& info) {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(info.last_modified.time_since_epoch());
    return FileStat{info.size, ns.count()};
  }

  std::shared_ptr<Shared> shared_;
};

Status S3Target::commit_all(std::vector<std::unique_ptr<WriteTxn>>& txns) {
  std::vector<S3WriteTxn*> singles, multis;
  for (auto& t : txns) {
    auto* txn = static_cast<S3WriteTxn*>(t.get());
    if (!txn->closed()) return make_error(ErrorCode::kInternal, txn->path().str() + ": commit before close");
    if (txn->single_put()) {
      DEPOT_TRY(txn->load_small());
      singles.push_back(txn);
    } else {
      multis.push_back(txn);
    }
  }
  std::vector<S3PutItem> items;
  items.reserve(singles.size());
  for (S3WriteTxn* txn : singles) {
    items.push_back(S3PutItem{txn->path().str(), txn->buffered(), txn->body_sha256(), ""});
  }
  std::vector<Status> put = shared_->client->put_many(items, shared_->opts.parallel);
  std::optional<Error> first;
  for (size_t i = 0; i < singles.size(); ++i) {
    if (put[i].ok()) {
      singles[i]->mark_committed();
      singles[i]->release_buffer();
    } else if (!first) {
      first = put[i].error();
    }
  }
  if (first) return *first;
  for (S3WriteTxn* txn : multis) DEPOT_TRY(txn->finish_multipart());
  return ok_status();
}

}  // namespace

Result<std::unique_ptr<Target>> open_s3_target(std::shared_ptr<S3Client> client, S3TargetOptions options) {
  if (options.part_size < (5u << 20)) {
    return make_error(ErrorCode::kInvalidArgument, "S3 part size must be at least 5 MiB");
  }
  std::error_code ec;
  fs::create_directories(options.spool_dir, ec);
  if (ec) return make_error(ErrorCode::kIo, options.spool_dir.string() + ": " + ec.message());
  auto shared = std::make_shared<Shared>();
  shared->client = std::move(client);
  shared->opts = std::move(options);
  return std::unique_ptr<Target>(std::make_unique<S3Target>(std::move(shared)));
}

}  // namespace depot

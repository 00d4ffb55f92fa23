#include "sources/yum/primary_stream.h"

#include <optional>

#include "core/digest.h"
#include "sources/push_decompress.h"
#include "sources/yum/primary.h"

namespace depot::yum {

// Everything one pass over the file builds; replaced whole by reset().
struct PrimaryStream::State {
  explicit State(const PrimaryStream& s)
      : hasher(s.data_.open_checksum.empty() ? 0u : Hasher::mask_for(s.data_.open_checksum)),
        parser(s.url_,
               [this, &s](Package&& p) -> Status {
                 std::string url = join_url(p.base.empty() ? s.upstream_ : p.base,
                                            escape_url_path(p.path.str()));
                 return blobs.add(blob_entry(std::move(p.path), p.size, std::move(p.digests),
                                             std::move(url)),
                                  s.url_);
               }),
        decompressor(
            s.url_,
            [this, hash = !s.data_.open_checksum.empty()](std::string_view chunk) {
              open_size += chunk.size();
              if (hash) hasher.update(chunk);
              return parser.feed(chunk);
            },
            s.max_bytes_) {}

  std::vector<Entry> entries;
  BlobCollector blobs{entries};
  Hasher hasher;
  uint64_t open_size = 0;  // decompressed bytes
  uint64_t seen = 0;       // compressed bytes
  PrimaryParser parser;
  PushDecompressor decompressor;
  std::optional<Error> error;  // the first one; later bytes are ignored
};

PrimaryStream::PrimaryStream(std::string url, std::string upstream, const RepomdData& data,
                             uint64_t max_bytes)
    : url_(std::move(url)),
      upstream_(std::move(upstream)),
      data_(data),
      max_bytes_(max_bytes),
      state_(std::make_unique<State>(*this)) {}

PrimaryStream::~PrimaryStream() = default;

Status PrimaryStream::write(std::span<const std::byte> data) {
  State& s = *state_;
  s.seen += data.size();
  if (s.error) return ok_status();
  if (Status st = s.decompressor.write(data); !st.ok()) s.error = st.error();
  return ok_status();
}

Status PrimaryStream::reset() {
  state_ = std::make_unique<State>(*this);
  return ok_status();
}

uint64_t PrimaryStream::bytes_written() const { return state_->seen; }

uint64_t PrimaryStream::packages() const { return state_->parser.packages(); }

Result<std::vector<Entry>> PrimaryStream::finish() {
  State& s = *state_;
  if (s.error) return *s.error;
  DEPOT_TRY(s.decompressor.finish());
  DEPOT_TRY(s.parser.finish());
  if (data_.open_size && *data_.open_size != s.open_size) {
    return make_error(ErrorCode::kSizeMismatch,
                      url_ + ": decompressed size " + std::to_string(s.open_size) +
                          ", repomd.xml says " + std::to_string(*data_.open_size));
  }
  if (!data_.open_checksum.empty()) {
    DEPOT_TRY(data_.open_checksum.verify(s.hasher.finish(), url_ + " (decompressed)"));
  }
  return std::move(s.entries);
}

}  // namespace depot::yum

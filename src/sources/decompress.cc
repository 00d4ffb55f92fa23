#include "sources/decompress.h"

#include <archive.h>

#include <memory>
#include <optional>
#include <span>

namespace depot {

int ArchiveFeed::open(archive* a) { return archive_read_open(a, this, nullptr, &read, nullptr); }

long ArchiveFeed::read(archive*, void* self, const void** out) {
  auto* f = static_cast<ArchiveFeed*>(self);
  auto n = f->in_.read(std::as_writable_bytes(std::span(f->buf_)));
  if (!n.ok()) {
    f->error_ = n.error();
    return -1;
  }
  *out = f->buf_.data();
  return static_cast<long>(*n);
}

Status read_decompressed(const std::filesystem::path& file, const std::string& name,
                         const ChunkSink& sink, uint64_t max_bytes) {
  DEPOT_ASSIGN_OR_RETURN(auto in, open_file_source(file, name));
  return read_decompressed(*in, name, sink, max_bytes);
}

Status read_decompressed(ByteSource& in, const std::string& name, const ChunkSink& sink,
                         uint64_t max_bytes) {
  std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), archive_read_free);
  if (!a) return make_error(ErrorCode::kInternal, name + ": archive_read_new failed");
  archive_read_support_filter_all(a.get());
  archive_read_support_format_raw(a.get());
  archive_read_support_format_empty(a.get());
  auto fail = [&](const char* what) {
    const char* msg = archive_error_string(a.get());
    return make_error(ErrorCode::kParse,
                      name + ": " + what + (msg ? std::string(": ") + msg : std::string()));
  };
  ArchiveFeed feed(in);
  auto fail_read = [&](const char* what) { return feed.error_or(fail(what)); };
  if (feed.open(a.get()) != ARCHIVE_OK) {
    return fail_read("cannot open");
  }
  archive_entry* entry = nullptr;
  int rc = archive_read_next_header(a.get(), &entry);
  if (rc == ARCHIVE_EOF) return ok_status();  // empty file
  if (rc != ARCHIVE_OK) return fail_read("cannot decompress");
  uint64_t total = 0;
  for (;;) {
    const void* buf = nullptr;
    size_t len = 0;
    la_int64_t offset = 0;
    rc = archive_read_data_block(a.get(), &buf, &len, &offset);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK) return fail_read("corrupt or truncated data");
    total += len;
    if (total > max_bytes) {
      return make_error(ErrorCode::kParse, name + ": decompresses to more than " +
                                               std::to_string(max_bytes) + " bytes");
    }
    DEPOT_TRY(sink(std::string_view(static_cast<const char*>(buf), len)));
  }
  return ok_status();
}

}  // namespace depot

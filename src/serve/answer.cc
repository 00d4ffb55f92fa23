#include "serve/answer.h"

#include <algorithm>

#include "core/clock.h"
#include "core/rel_path.h"
#include "serve/http_semantics.h"
#include "serve/page_rewrite.h"

namespace depot {
Answer error_answer(int status, std::string text) {
  Answer a;
  a.kind = Answer::Kind::kError;
  a.status = status;
  a.text = std::move(text);
  return a;
}

namespace {

// An answer for `f` without ETag and Content-Type.
Answer whole_file(OpenedFile f, CacheOutcome outcome) {
  Answer a;
  a.kind = Answer::Kind::kFile;
  a.outcome = outcome;
  a.size = static_cast<uint64_t>(f.st.st_size);
  // Preconditions compare the real mtime, but the header never shows a date later than the
  // answer's own (RFC 9110 §8.8.2.1): a publisher may stamp a new index a second ahead so that
  // its date differs from the one it replaces.
  a.mtime = f.st.st_mtim.tv_sec;
  a.last_modified = format_http_date(
      std::min<int64_t>(a.mtime, unix_seconds(std::chrono::system_clock::now())));
  a.body = std::make_shared<OpenBody>();
  a.body->fd = std::move(f.fd);
  return a;
}

}  // namespace

Answer file_answer(OpenedFile f, CacheOutcome outcome, std::string_view name) {
  const std::string etag = make_file_etag(f.st);
  Answer a = whole_file(std::move(f), outcome);
  a.etag = etag;
  a.content_type = std::string(content_type_for(name));
  return a;
}

Answer cached_file_answer(OpenedFile f, CacheOutcome outcome, std::string content_type) {
  Answer a = whole_file(std::move(f), outcome);
  a.etag = make_etag(a.size, a.mtime);
  a.content_type = std::move(content_type);
  return a;
}

std::string pick_content_type(std::string_view key, const std::string& upstream_type) {
  std::string_view name = rel_filename(key);
  if (auto page = page_variant(name)) {
    return upstream_type.empty() ? std::string(page->second.media_type) : upstream_type;
  }
  std::string by_name(content_type_for(name));
  if (by_name == "application/octet-stream" && !upstream_type.empty()) return upstream_type;
  return by_name;
}

}  // namespace depot

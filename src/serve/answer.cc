#include "serve/answer.h"

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

Answer file_answer(OpenedFile f, CacheOutcome outcome, std::string_view name) {
  Answer a;
  a.kind = Answer::Kind::kFile;
  a.outcome = outcome;
  a.size = static_cast<uint64_t>(f.st.st_size);
  a.etag = make_file_etag(f.st);
  // A one-second Last-Modified cannot tell two versions written in the same second apart: a
  // file changed in the current second gets none (and If-Modified-Since is not evaluated).
  if (f.st.st_mtim.tv_sec < unix_seconds(std::chrono::system_clock::now())) {
    a.mtime = f.st.st_mtim.tv_sec;
    a.last_modified = format_http_date(a.mtime);
  }
  a.content_type = std::string(content_type_for(name));
  a.body = std::make_shared<OpenBody>();
  a.body->fd = std::move(f.fd);
  return a;
}

std::string pick_content_type(std::string_view key, const std::string& upstream_type) {
  std::string_view name = rel_filename(key);
  bool page = name == "index.html" || name == "index.v1_json";
  if (page && !upstream_type.empty()) return upstream_type;
  if (name == "index.v1_json") return std::string(kPypiSimpleJson);
  std::string by_name(content_type_for(name));
  if (by_name == "application/octet-stream" && !upstream_type.empty()) return upstream_type;
  return by_name;
}

}  // namespace depot

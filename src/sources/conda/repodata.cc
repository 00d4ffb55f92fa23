#include "sources/conda/repodata.h"

#include <algorithm>
#include <simdjson.h>

#include "core/rel_path.h"

namespace depot::conda {
namespace {

namespace od = simdjson::ondemand;

Error parse_error(const std::string& source, const std::string& what) {
  return make_error(ErrorCode::kParse, source + ": " + what);
}

std::string err_text(simdjson::error_code e) { return simdjson::error_message(e); }

Result<PackageRecord> parse_record(std::string_view key, od::object obj, const std::string& source,
                                   const char* section) {
  // Built only on the error path: the happy path must stay allocation-light.
  auto where = [&] { return std::string(section) + " entry " + quote_untrusted(key); };
  auto path = RelPath::parse(key);
  if (!path.ok()) return parse_error(source, where() + ": " + path.error().message);
  if (key.find('/') != std::string_view::npos) {
    return make_error(ErrorCode::kUnsafePath,
                      source + ": " + where() + ": package name must be a plain file name");
  }
  if (is_reserved_index_name(key)) {
    return make_error(ErrorCode::kUnsafePath,
                      source + ": " + where() + ": package name collides with an index file");
  }
  PackageRecord rec;
  rec.filename = std::string(key);
  bool have_size = false;
  for (auto field : obj) {
    std::string_view name;
    if (auto e = field.unescaped_key().get(name)) return parse_error(source, where() + ": " + err_text(e));
    if (name == "size") {
      uint64_t size = 0;
      if (auto e = field.value().get_uint64().get(size)) {
        return parse_error(source, where() + ": size is not a non-negative integer (" + err_text(e) + ")");
      }
      rec.size = size;
      have_size = true;
    } else if (name == "sha256" || name == "md5") {
      std::string_view hex;
      if (auto e = field.value().get_string().get(hex)) {
        return parse_error(source, where() + ": " + std::string(name) + " is not a string (" + err_text(e) + ")");
      }
      DigestAlgo algo = name == "sha256" ? DigestAlgo::kSha256 : DigestAlgo::kMd5;
      auto norm = normalize_hex_digest(algo, hex);
      if (!norm.ok()) return parse_error(source, where() + ": " + norm.error().message);
      rec.digests.get(algo) = std::move(norm).value();
    }
  }
  if (!have_size) return parse_error(source, where() + ": missing size");
  if (rec.digests.sha256.empty() && rec.digests.md5.empty()) {
    return parse_error(source, where() + ": missing sha256 and md5");
  }
  return rec;
}

Status parse_section(od::value section_value, const char* section, const std::string& source,
                     std::vector<PackageRecord>& out) {
  od::object members;
  if (auto e = section_value.get_object().get(members)) {
    return parse_error(source, std::string(section) + " is not an object (" + err_text(e) + ")");
  }
  for (auto field : members) {
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) {
      return parse_error(source, std::string(section) + ": " + err_text(e));
    }
    std::string key_copy(key);
    od::object obj;
    if (auto e = field.value().get_object().get(obj)) {
      return parse_error(source, std::string(section) + " entry " + quote_untrusted(key_copy) +
                                     " is not an object (" + err_text(e) + ")");
    }
    DEPOT_ASSIGN_OR_RETURN(PackageRecord rec, parse_record(key_copy, obj, source, section));
    out.push_back(std::move(rec));
  }
  return ok_status();
}

Result<Repodata> parse_padded(const simdjson::padded_string& json, const std::string& source) {
  od::parser parser;
  od::document doc;
  if (auto e = parser.iterate(json).get(doc)) return parse_error(source, err_text(e));
  od::object root;
  if (auto e = doc.get_object().get(root)) return parse_error(source, "not a JSON object (" + err_text(e) + ")");
  Repodata out;
  bool have_packages = false;
  for (auto field : root) {
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return parse_error(source, err_text(e));
    if (key == "packages" || key == "packages.conda") {
      have_packages = true;
      const char* section = key == "packages" ? "packages" : "packages.conda";
      od::value v;
      if (auto e = field.value().get(v)) return parse_error(source, err_text(e));
      DEPOT_TRY(parse_section(v, section, source, out.packages));
    } else if (key == "info") {
      od::object info;
      if (auto e = field.value().get_object().get(info)) {
        return parse_error(source, "info is not an object (" + err_text(e) + ")");
      }
      for (auto f : info) {
        std::string_view k;
        if (auto e = f.unescaped_key().get(k)) return parse_error(source, err_text(e));
        std::string_view s;
        if (k == "subdir" && !f.value().get_string().get(s)) out.subdir = std::string(s);
        if (k == "base_url" && !f.value().get_string().get(s)) out.base_url = std::string(s);
      }
    }
  }
  // Reaching here means every value was consumed; a trailing-garbage check follows.
  if (doc.current_location().error() == simdjson::SUCCESS) {
    return parse_error(source, "trailing content after the JSON document");
  }
  if (!have_packages) return parse_error(source, "missing \"packages\" and \"packages.conda\"");
  std::sort(out.packages.begin(), out.packages.end(),
            [](const auto& a, const auto& b) { return a.filename < b.filename; });
  for (size_t i = 1; i < out.packages.size(); ++i) {
    if (out.packages[i].filename == out.packages[i - 1].filename) {
      return parse_error(source, "package " + quote_untrusted(out.packages[i].filename) +
                                     " is listed twice");
    }
  }
  return out;
}

}  // namespace

bool is_reserved_index_name(std::string_view f) {
  return f.starts_with("repodata") || f.starts_with("current_repodata") ||
         f == "channeldata.json" || f == "index.html" || f == "rss.xml";
}

Result<Repodata> RepodataParser::finish() {
  simdjson::padded_string padded(buffer_);
  buffer_.clear();
  buffer_.shrink_to_fit();
  return parse_padded(padded, source_);
}

Result<Repodata> parse_repodata(std::string_view json, const std::string& source) {
  simdjson::padded_string padded(json);
  return parse_padded(padded, source);
}

Result<Repodata> parse_repodata(ByteSource& in, const std::string& source) {
  RepodataParser parser(source);
  DEPOT_TRY(for_each_chunk(in, [&](std::string_view chunk) {
    parser.feed(chunk);
    return ok_status();
  }));
  return parser.finish();
}

}  // namespace depot::conda

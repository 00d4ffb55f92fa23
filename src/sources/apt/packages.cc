#include "sources/apt/packages.h"

#include <algorithm>

#include "core/text.h"
#include "sources/decompress.h"

namespace depot::apt {
namespace {

Result<uint64_t> parse_size(std::string_view v, const std::string& where) {
  auto n = parse_u64(v);
  if (!n) return make_error(ErrorCode::kParse, where + ": bad Size '" + std::string(v) + "'");
  return *n;
}

std::string where(const std::string& name, const Stanza& s) {
  return name + ": paragraph at line " + std::to_string(s.line());
}

Status stream(ByteSource& in, const std::string& name, const Deb822Parser::Handler& handler) {
  Deb822Parser parser(name, handler);
  DEPOT_TRY(read_decompressed(in, name, [&](std::string_view chunk) { return parser.feed(chunk); }));
  return parser.finish();
}

}  // namespace

Status PoolCollector::add_packages_file(ByteSource& in, const std::string& name) {
  return stream(in, name, [&](const Stanza& s) { return add_binary(s, name); });
}

Status PoolCollector::add_sources_file(ByteSource& in, const std::string& name) {
  return stream(in, name, [&](const Stanza& s) { return add_source(s, name); });
}

Status PoolCollector::add_binary(const Stanza& s, const std::string& name) {
  const std::string at = where(name, s);
  auto filename = s.get("Filename");
  auto size = s.get("Size");
  if (!filename || filename->empty()) return make_error(ErrorCode::kParse, at + ": no Filename");
  if (!size) return make_error(ErrorCode::kParse, at + ": no Size for " + std::string(*filename));
  DEPOT_ASSIGN_OR_RETURN(uint64_t n, parse_size(*size, at));
  Digests d;
  static constexpr std::pair<const char*, DigestAlgo> kFields[] = {
      {"SHA256", DigestAlgo::kSha256},
      {"SHA512", DigestAlgo::kSha512},
      {"SHA1", DigestAlgo::kSha1},
      {"MD5sum", DigestAlgo::kMd5}};
  for (const auto& [field, algo] : kFields) {
    if (auto v = s.get(field)) {
      auto hex = normalize_hex_digest(algo, *v);
      if (!hex.ok()) return make_error(ErrorCode::kParse, at + ": " + hex.error().message);
      d.get(algo) = std::move(hex).value();
    }
  }
  if (d.empty()) return make_error(ErrorCode::kParse, at + ": no checksum for " + std::string(*filename));
  if (!d.sha256.empty() || !d.sha512.empty()) {
    // Only SHA-2 is verified then (Hasher::mask_for); not keeping the rest saves memory on
    // archives of a million files.
    d.md5.clear();
    d.md5.shrink_to_fit();
    d.sha1.clear();
    d.sha1.shrink_to_fit();
  }
  return add(*filename, n, std::move(d), at);
}

Status PoolCollector::add_source(const Stanza& s, const std::string& name) {
  const std::string at = where(name, s);
  auto dir = s.get("Directory");
  if (!dir || dir->empty()) return make_error(ErrorCode::kParse, at + ": no Directory");
  // name -> (size, digests), merged over the checksum fields.
  std::vector<std::pair<std::string, std::pair<uint64_t, Digests>>> files;
  static constexpr std::pair<const char*, DigestAlgo> kFields[] = {
      {"Checksums-Sha256", DigestAlgo::kSha256},
      {"Checksums-Sha512", DigestAlgo::kSha512},
      {"Checksums-Sha1", DigestAlgo::kSha1},
      {"Files", DigestAlgo::kMd5}};
  for (const auto& [field, algo] : kFields) {
    auto v = s.get(field);
    if (!v) continue;
    for (auto line : value_lines(*v)) {
      auto w = words(line);
      if (w.size() != 3) return make_error(ErrorCode::kParse, at + ": malformed " + field + " line");
      DEPOT_ASSIGN_OR_RETURN(uint64_t n, parse_size(w[1], at));
      auto hex = normalize_hex_digest(algo, w[0]);
      if (!hex.ok()) return make_error(ErrorCode::kParse, at + ": " + hex.error().message);
      auto it = std::find_if(files.begin(), files.end(), [&](auto& f) { return f.first == w[2]; });
      if (it == files.end()) {
        files.push_back({std::string(w[2]), {n, {}}});
        it = files.end() - 1;
      } else if (it->second.first != n) {
        return make_error(ErrorCode::kParse, at + ": " + std::string(w[2]) + " listed with two sizes");
      }
      it->second.second.get(algo) = std::move(hex).value();
    }
  }
  if (files.empty()) return make_error(ErrorCode::kParse, at + ": no file list");
  for (auto& [file, info] : files) {
    if (file.find('/') != std::string::npos) {
      return make_error(ErrorCode::kUnsafePath, at + ": file name with a slash: " + quote_untrusted(file));
    }
    DEPOT_TRY(add(std::string(*dir) + "/" + file, info.first, std::move(info.second), at));
  }
  return ok_status();
}

Status PoolCollector::add(std::string_view path, uint64_t size, Digests digests,
                          const std::string& at) {
  auto rel = RelPath::parse(path);
  if (!rel.ok()) {
    return make_error(ErrorCode::kUnsafePath, at + ": refusing file " + quote_untrusted(path) +
                                                  ": " + rel.error().message);
  }
  if (rel->str().starts_with("dists/")) {
    return make_error(ErrorCode::kUnsafePath,
                      at + ": a package may not live under dists/: " + quote_untrusted(path));
  }
  std::string url = join_url(base_url_, escape_url_path(rel->str()));
  return blobs_.add(blob_entry(std::move(rel).value(), size, std::move(digests), std::move(url)),
                    at);
}

}  // namespace depot::apt

#include "pool/packages_file.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <vector>

#include "core/digest.h"
#include "core/text.h"
#include "pool/chunked_compress.h"
#include "pool/deb_reader.h"
#include "pool/paragraph.h"

namespace depot::pool {
namespace {

bool generated_field(std::string_view name) {
  return iequals(name, "Package") || index_only_field(name);
}

// The Source field's package name ("foo (1.2)" -> "foo"), or empty.
std::string_view source_name(std::string_view value) {
  return trim(trim(value).substr(0, trim(value).find('(')));
}

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

std::string what_of(const PackageText& p) {
  return "package " + p.name + " " + p.version + " " + p.architecture;
}

// Appends p's paragraph to `out`.
Status render_one(std::string& out, const PackageText& p, std::string_view component) {
  const size_t start = out.size();
  append_field(out, "Package", p.name);
  std::optional<std::string_view> source;
  Status st = for_each_field(p.paragraph, what_of(p),
                             [&](std::string_view name, std::string_view value,
                                 std::string_view line) {
                               if (!source && iequals(name, "Source")) {
                                 source = source_name(value);
                               }
                               if (!generated_field(name)) out.append(line);
                             });
  if (!st.ok()) {
    out.resize(start);
    return st;
  }
  append_field(out, "Filename", pool_path(p.name, source.value_or(""), pool_file_name(p),
                                         component));
  append_field(out, "Size", std::to_string(p.file.size));
  append_field(out, "MD5sum", p.file.digests.md5);
  append_field(out, "SHA1", p.file.digests.sha1);
  append_field(out, "SHA256", p.file.digests.sha256);
  return {};
}

// One chunk: its span of the text and its two compressed forms.
struct Chunk {
  size_t offset = 0, size = 0;
  GzipChunk gz;
  XzChunk xz;
  uint64_t compressed = 0, reused = 0;
  Status status;
};

Chunk make_chunk(size_t offset, size_t size) {
  Chunk c;
  c.offset = offset;
  c.size = size;
  return c;
}

template <class T, class Compress, class Decode>
Status cached(const ChunkCache* cache, const std::string& key, T& out, Chunk& c,
              Compress compress, Decode decode) {
  if (cache != nullptr) {
    if (auto bytes = cache->get(key)) {
      if (auto r = decode(*bytes, cache->dir().string() + "/" + key); r.ok()) {
        out = std::move(r).value();
        c.reused++;
        return {};
      }
    }
  }
  DEPOT_ASSIGN_OR_RETURN(out, compress());
  c.compressed++;
  if (cache != nullptr) cache->put(key, encode_chunk(out));
  return {};
}

void compress_chunk(std::string_view text, Chunk& c, const PackagesOptions& opts) {
  std::string_view data = text.substr(c.offset, c.size);
  const std::string sha = sha256_hex(data);
  c.status = cached(
      opts.cache, sha + ".gz" + std::to_string(opts.gzip_level), c.gz, c,
      [&] { return gzip_chunk(data, opts.gzip_level); },
      [](std::string_view b, const std::string& w) { return decode_gzip_chunk(b, w); });
  if (!c.status.ok() || !opts.write_xz) return;
  c.status = cached(
      opts.cache, sha + ".xz" + std::to_string(opts.xz_preset), c.xz, c,
      [&] { return xz_chunk(data, opts.xz_preset); },
      [](std::string_view b, const std::string& w) { return decode_xz_chunk(b, w); });
}

}  // namespace

std::string pool_path(std::string_view name, std::string_view source, std::string_view filename,
                      std::string_view component) {
  std::string_view dir = source.empty() ? name : source;
  std::string_view prefix = dir.substr(0, dir.starts_with("lib") && dir.size() > 3 ? 4 : 1);
  std::string out = "pool/";
  out.append(component).append("/").append(prefix).append("/").append(dir).append("/");
  out += filename;
  return out;
}

std::string pool_path(const PackageText& p, std::string_view component) {
  std::string_view source;
  bool found = false;
  (void)for_each_field(p.paragraph, what_of(p),
                       [&](std::string_view name, std::string_view value, std::string_view) {
                         if (!found && iequals(name, "Source")) {
                           source = source_name(value);
                           found = true;
                         }
                       });
  return pool_path(p.name, source, pool_file_name(p), component);
}

std::string pool_file_name(const PackageText& p) {
  std::string_view version = p.version;
  if (auto colon = version.find(':'); colon != std::string_view::npos) {
    version.remove_prefix(colon + 1);
  }
  std::string out = p.name;
  out.append("_").append(version).append("_").append(p.architecture);
  out += p.file.filename.ends_with(".udeb") ? ".udeb" : ".deb";
  return out;
}

bool package_order_less(const PackageText& a, const PackageText& b) {
  if (int c = a.name.compare(b.name); c != 0) return c < 0;
  if (int c = compare_versions(a.version, b.version); c != 0) return c < 0;
  if (int c = a.architecture.compare(b.architecture); c != 0) return c < 0;
  return a.file.filename < b.file.filename;
}

Result<RenderedPackages> render_packages_chunked(std::span<const PackageText* const> pkgs,
                                                 std::string_view component) {
  std::vector<const PackageText*> sorted(pkgs.begin(), pkgs.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const PackageText* a, const PackageText* b) {
    return package_order_less(*a, *b);
  });
  RenderedPackages out;
  std::string& text = out.text;
  size_t estimate = 0;
  for (const PackageText* p : sorted) {
    estimate += p->paragraph.size() + 2 * p->file.filename.size() + 300;
  }
  text.reserve(estimate);
  size_t chunk_start = 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    const PackageText& p = *sorted[i];
    if (i > 0) {
      const bool new_name = p.name != sorted[i - 1]->name;
      if ((new_name && fnv1a(p.name) % kBoundaryEvery == 0) ||
          text.size() - chunk_start >= kMaxChunkBytes) {
        out.chunks.emplace_back(chunk_start, text.size() - chunk_start);
        chunk_start = text.size();
      }
      text += '\n';
    }
    DEPOT_TRY(render_one(text, p, component));
  }
  if (text.size() > chunk_start) out.chunks.emplace_back(chunk_start, text.size() - chunk_start);
  text.shrink_to_fit();
  return out;
}

Result<std::string> render_packages(std::span<const PackageText* const> pkgs,
                                    std::string_view component) {
  DEPOT_ASSIGN_OR_RETURN(RenderedPackages r, render_packages_chunked(pkgs, component));
  return std::move(r.text);
}

Result<PackagesFile> compress_packages(RenderedPackages rendered, const PackagesOptions& opts) {
  PackagesFile out;
  out.text = std::move(rendered.text);
  std::vector<Chunk> chunks;
  for (const auto& [offset, size] : rendered.chunks) chunks.push_back(make_chunk(offset, size));

  std::vector<std::function<void()>> tasks;
  tasks.push_back([&out] {  // the digests Release lists, beside the compression
    Hasher h(kReleaseDigests);
    h.update(out.text);
    out.text_digests = h.finish();
  });
  for (Chunk& c : chunks) {
    tasks.push_back([&text = out.text, &c, &opts] { compress_chunk(text, c, opts); });
  }
  run_all(opts.pool, std::move(tasks));
  std::vector<const GzipChunk*> gz;
  std::vector<const XzChunk*> xz;
  for (const Chunk& c : chunks) {
    DEPOT_TRY(c.status);
    gz.push_back(&c.gz);
    xz.push_back(&c.xz);
    out.compressed += c.compressed;
    out.reused += c.reused;
  }
  out.chunks = chunks.size();
  out.gz = gzip_assemble(gz);
  for (Chunk& c : chunks) c.gz = {};
  if (opts.write_xz) {
    DEPOT_ASSIGN_OR_RETURN(out.xz, xz_assemble(xz));
  }
  return out;
}

Result<PackagesFile> build_packages_file(std::span<const PackageText* const> pkgs,
                                         std::string_view component,
                                         const PackagesOptions& opts) {
  DEPOT_ASSIGN_OR_RETURN(RenderedPackages r, render_packages_chunked(pkgs, component));
  return compress_packages(std::move(r), opts);
}

}  // namespace depot::pool

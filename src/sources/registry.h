#pragma once
// RegistryDescriptor: what depot knows about one registry kind, declared once in its folder
// (src/sources/<name>/<name>_registry.cc) and listed in source_registry.cc. cli/ builds
// `depot mirror`'s arguments and help from it; serve/ classifies paths and picks media types
// with it; neither names a registry. Descriptors are immutable statics: everything here is
// thread-safe.

#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sources/source.h"

namespace depot {

// Freshness class of a file in a registry's tree.
enum class FileClass {
  kBlob,   // content-addressed or versioned: never changes, never revalidated
  kRoot,   // a signed root naming other index files, served in one generation with them
  kIndex,  // everything else: revalidated after a TTL
};

// A command-line option of `depot mirror NAME`; it fills SourceOptions[key].
struct RegistryOption {
  enum class Kind {
    kList,      // "--flag a,b", repeatable: lists[key]
    kListFile,  // "--flag FILE": one item per line ('#' starts a comment), added to lists[key]
    kValue,     // "--flag V": values[key]
    kFile,      // "--flag PATH" of an existing file: values[key]
    kFlag,      // "--flag": values[key] = "yes"
  };
  std::string flag;  // "--dist"
  std::string key;   // "dist"
  Kind kind = Kind::kList;
  std::string help;  // what it does for this registry
};

// What an index or a root says of a file it names, or a path of its own content.
struct NamedFile {
  std::optional<uint64_t> size;
  Digests digests;          // at least one strong digest (or a weaker one for yum)
  std::string by_hash_rel;  // the immutable by-hash copy upstream offers, "" when none
};
// Files by their path in the served tree (the index's own prefix included).
using NamedFiles = std::vector<std::pair<std::string, NamedFile>>;

// One representation of a directory page (PyPI's simple pages): the file it is stored as in
// the directory, its media type, and the Accept header asked upstream for it.
struct PageVariant {
  std::string_view file;
  std::string_view media_type;
  std::string_view accept;
};

// A page rewritten for the cache: links into an upstream made local, with the sha256 the page
// declares for each of them.
struct RewrittenPage {
  std::string body;
  std::vector<std::pair<std::string, std::string>> digests;  // local rel -> sha256 hex
};

// The local request path ("/prefix/rest") of an absolute URL, "" when no upstream serves it.
using LocalPathFn = std::function<std::string(std::string_view url)>;

// A document rewritten for one answer; an empty content_type keeps the upstream's.
struct RewrittenDocument {
  std::string body;
  std::string content_type;
};

// Where a cache keeps and fetches a document it is asked for at another path.
struct CacheRoute {
  std::string file;      // kept as, below the upstream's prefix (is_document holds for it)
  std::string url_path;  // fetched from, below the upstream's URL (already %-escaped)
  std::string accept;    // the Accept header asked upstream with
};

// Where a cache fetches a blob the documents place elsewhere, and what verifies it.
struct BlobOrigin {
  std::string url;  // absolute, possibly on another host than the upstream's
  NamedFile file;   // declared size and digests
};

// The cached upstream bytes of a file below the same upstream prefix; nullopt when not cached.
using ReadCachedFn = std::function<std::optional<std::string>(std::string_view rel)>;

// A path split into its segments, the file name last; never empty.
using PathParts = std::span<const std::string_view>;

// What a server must know of a registry's paths. Predicates are pure.
struct PathRules {
  std::function<bool(PathParts)> is_blob;  // never changes; empty: none
  std::function<bool(PathParts)> is_root;  // a root (its name is one of root_names); empty: none
  // File names of the roots that live side by side in one directory (a new one replaces all).
  std::vector<std::string_view> root_names;
  // Media types of this registry's files by extension (lowercase, without the dot).
  std::vector<std::pair<std::string_view, std::string_view>> types;
  // Index names without an extension, and name prefixes (with no '.'), served as text/plain.
  std::vector<std::string_view> text_names, text_prefixes;

  // The roots that could name the index `rel`, best first; empty for roots, blobs and paths
  // of other registries. Empty function: the registry has no roots.
  std::function<std::vector<std::string>(std::string_view rel)> candidate_roots;
  // What the root `root_rel` (one that is_root), whose bytes are `text`, names; an unparsable
  // root names nothing.
  std::function<NamedFiles(std::string_view root_rel, std::string_view text)> read_root;
  // What a path says of its own content (apt's by-hash/SHA256/<hex>); nullopt for others.
  std::function<std::optional<NamedFile>(std::string_view rel)> self_named;
  // True for an index that names package files; read_package_index then lists them from the
  // index's bytes in `file` (any compression). An error names `key`.
  std::function<bool(std::string_view key)> names_packages;
  std::function<Result<NamedFiles>(std::string_view key, const std::filesystem::path& file)>
      read_package_index;
  // The package a file of this registry belongs to, from its file name (apt's
  // "hello_2.10-3_amd64.deb" -> "hello"); nullopt for a file that is no package of it. A
  // cache counts clients' use of packages by it. Empty function: none.
  std::function<std::optional<std::string>(std::string_view file_name)> package_name;

  // Directory pages: every variant, and those answering a client's Accept, best first. A
  // cache fetches the page from the directory's URL and stores it rewritten.
  std::vector<PageVariant> page_variants;
  std::function<std::vector<PageVariant>(std::string_view accept)> pages_for;
  // Pages are also answered at the directory's name without a trailing slash (their links are
  // absolute, as npm's packuments at GET /NAME); otherwise that name redirects to "NAME/".
  bool pages_at_directory_name = false;
  // A raw request target (still percent-encoded) the registry's clients spell another way,
  // rewritten to the canonical target before it is decoded (npm's "/@scope%2fname" ->
  // "/@scope/name"); nullopt when it is not such a target. Empty function: none.
  std::function<std::optional<std::string>(std::string_view target)> request_alias;
  // Rewrites the page variant `file` fetched from `page_url` (answered with `content_type`).
  std::function<Result<RewrittenPage>(std::string_view body, std::string_view content_type,
                                      std::string_view file, std::string_view page_url,
                                      const LocalPathFn& local_path)>
      rewrite_page;

  // Documents: index files a cache stores as upstream sent them and rewrites in every answer
  // (crates' config.json, its "dl" pointed at the cache). `rel` is below an upstream's prefix.
  std::function<bool(std::string_view rel)> is_document;
  // The document `rel`, of upstream bytes `body`, as served with the upstream's prefix at
  // `local_url` (absolute, no trailing slash, e.g. "http://host:8080/crates"; untrusted text
  // the rewrite must escape) to a client sending `accept`. An error: the document is served
  // unchanged.
  std::function<Result<RewrittenDocument>(std::string_view rel, std::string_view body,
                                          std::string_view local_url, std::string_view accept)>
      rewrite_document;
  // Below an upstream bound to this registry (serve's --upstream KIND:PREFIX=URL, or a PREFIX
  // whose last segment is the registry's name): how the cache answers request `rel` (below the
  // prefix, no trailing slash). A route: a document asked at another path than the file it is
  // kept as (npm's packument, asked at NAME and kept as NAME/index.json, NAME/-/ holding its
  // tarballs); nullopt: the file at `rel`, as for any upstream; an error: no path of this
  // registry, answered 404 without asking upstream. Registries that set it apply their
  // documents only below upstreams bound to them.
  std::function<Result<std::optional<CacheRoute>>(std::string_view rel)> cache_route;
  // Where a cache fetches the blob `rel` (below an upstream's prefix) that the cached documents
  // place elsewhere (crates: a .crate from config.json's dl, by the cksum of its index line);
  // nullopt: from the upstream, at `rel`.
  std::function<std::optional<BlobOrigin>(std::string_view rel, const ReadCachedFn& read)>
      blob_origin;
};

struct RegistryDescriptor {
  std::string name;           // as in `depot mirror NAME`
  std::string upstream_help;  // what the UPSTREAM argument is
  SourceFactory factory;      // empty: served and cached, not mirrored yet
  std::vector<RegistryOption> options;
  PathRules paths;
  // A site (`depot run`) writes Debian's mirror trace files (project/trace/, ftpsync's format)
  // into this registry's mirrors after each successful sync; the engine leaves them alone.
  bool mirror_trace = false;
};

// The option of `d` spelled `flag` ("--dist"); null when it has none.
const RegistryOption* find_option(const RegistryDescriptor& d, std::string_view flag);
// Appends the items of a list file (RegistryOption::Kind::kListFile: one per line, '#' starts a
// comment, blank lines skipped) to `out`; an error names `file`.
Status append_list_file(const std::filesystem::path& file, std::vector<std::string>& out);

// Every registry, in name order.
const std::vector<const RegistryDescriptor*>& registries();
const RegistryDescriptor* find_registry(std::string_view name);

// Path helpers for PathRules.
std::vector<std::string_view> split_path(std::string_view rel);  // empty segments dropped
bool all_hex(std::string_view s);                                // non-empty, [0-9a-fA-F]*
// True when `dir` is one of the directories above the file (not the file itself).
bool has_ancestor(PathParts parts, std::string_view dir);
std::string_view parent_name(PathParts parts);  // "" for a top-level file
bool ends_with_any(std::string_view name, std::initializer_list<std::string_view> suffixes);
// `stem` without its last `fields` '-'-separated fields ("a-b-1.0-2", 2 -> "a-b"); "" when it
// has no more than that many fields.
std::string_view drop_dash_fields(std::string_view stem, int fields);

}  // namespace depot

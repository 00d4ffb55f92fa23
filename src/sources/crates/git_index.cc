#include "sources/crates/git_index.h"

#include <git2.h>

#include <algorithm>
#include <memory>

#include "core/rel_path.h"
#include "sources/crates/index_file.h"
#include "sources/registry.h"

namespace depot::crates {
namespace {

namespace fs = std::filesystem;

constexpr char kRef[] = "refs/depot/index";

// libgit2 is initialised for the lifetime of one Session (the library counts them).
struct Session {
  Session() { git_libgit2_init(); }
  ~Session() { git_libgit2_shutdown(); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
};

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using Repo = std::unique_ptr<git_repository, Deleter<git_repository, git_repository_free>>;
using Remote = std::unique_ptr<git_remote, Deleter<git_remote, git_remote_free>>;
using Commit = std::unique_ptr<git_commit, Deleter<git_commit, git_commit_free>>;
using Tree = std::unique_ptr<git_tree, Deleter<git_tree, git_tree_free>>;

std::string git_message() {
  const git_error* e = git_error_last();
  return e && e->message ? e->message : "unknown libgit2 error";
}

Result<Repo> open_cache(const fs::path& cache) {
  git_repository* raw = nullptr;
  if (git_repository_open_bare(&raw, cache.c_str()) == 0) return Repo(raw);
  std::error_code ec;
  fs::remove_all(cache, ec);  // absent, or left unusable by an interrupted first fetch
  fs::create_directories(cache, ec);
  if (ec) return make_error(ErrorCode::kIo, cache.string() + ": " + ec.message());
  if (git_repository_init(&raw, cache.c_str(), 1) != 0) {
    return make_error(ErrorCode::kIo, cache.string() + ": " + git_message());
  }
  return Repo(raw);
}

// Fetches the remote's HEAD into kRef; only objects the cache lacks are transferred. Returns
// how many objects were received.
Result<uint64_t> fetch_head(git_repository* repo, const std::string& url) {
  git_remote* raw = nullptr;
  git_remote_create_options create;
  git_remote_create_options_init(&create, GIT_REMOTE_CREATE_OPTIONS_VERSION);
  create.repository = repo;  // no name: an anonymous remote
  // The URL as given: no url.*.insteadOf of the user's git config (whose regex lookups also
  // leak in libgit2 1.5).
  create.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
  if (git_remote_create_with_opts(&raw, url.c_str(), &create) != 0) {
    return make_error(ErrorCode::kInvalidArgument, "git index " + url + ": " + git_message());
  }
  Remote remote(raw);
  git_fetch_options opts;
  git_fetch_options_init(&opts, GIT_FETCH_OPTIONS_VERSION);
  opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
  opts.update_fetchhead = 0;
  std::string spec = std::string("+HEAD:") + kRef;
  char* specs[] = {spec.data()};
  git_strarray refspecs = {specs, 1};
  if (git_remote_fetch(remote.get(), &refspecs, &opts, nullptr) != 0) {
    return make_error(ErrorCode::kUnreachable, "git index " + url + ": " + git_message(), true);
  }
  return static_cast<uint64_t>(git_remote_stats(remote.get())->received_objects);
}

struct Walk {
  const std::string* url;
  std::vector<std::string> names;
  std::optional<Error> error;
};

int visit(const char* root, const git_tree_entry* entry, void* payload) {
  auto& walk = *static_cast<Walk*>(payload);
  std::string_view name = git_tree_entry_name(entry);
  git_object_t type = git_tree_entry_type(entry);
  if (type == GIT_OBJECT_TREE) return name.starts_with('.') ? 1 : 0;  // 1: skip the subtree
  std::string path = std::string(root) + std::string(name);
  if (type != GIT_OBJECT_BLOB || git_tree_entry_filemode(entry) == GIT_FILEMODE_LINK) {
    if (name.starts_with('.')) return 0;
    walk.error =
        make_error(ErrorCode::kParse, "git index " + *walk.url + ": " + quote_untrusted(path) +
                                          " is no regular file (submodule or link)");
    return -1;
  }
  auto crate = crate_of_index_path(path, *walk.url);
  if (!crate.ok()) {
    walk.error = crate.error();
    return -1;
  }
  if (*crate) walk.names.push_back(std::move(**crate));
  return 0;
}

}  // namespace

Result<std::optional<std::string>> crate_of_index_path(std::string_view path,
                                                       const std::string& url) {
  if (path == "config.json") return std::optional<std::string>();
  for (std::string_view part : split_path(path)) {
    if (part.starts_with('.')) return std::optional<std::string>();
  }
  std::string_view name = path.substr(path.rfind('/') + 1);
  auto want = index_path(name);
  if (!valid_crate_name(name) || !want.ok() || *want != path) {
    return make_error(ErrorCode::kParse, "git index " + url + ": " + quote_untrusted(path) +
                                             " is not a crate's index file");
  }
  return std::optional<std::string>(std::string(name));
}

Result<std::vector<std::string>> enumerate_git_index(const std::string& url, const fs::path& cache,
                                                     Logger& logger) {
  Session session;
  DEPOT_ASSIGN_OR_RETURN(Repo repo, open_cache(cache));
  logger.info("crates.git_fetch", {{"url", url}, {"cache", cache.string()}});
  DEPOT_ASSIGN_OR_RETURN(uint64_t received, fetch_head(repo.get(), url));
  git_oid oid;
  git_commit* commit = nullptr;
  git_tree* tree = nullptr;
  if (git_reference_name_to_id(&oid, repo.get(), kRef) != 0 ||
      git_commit_lookup(&commit, repo.get(), &oid) != 0) {
    return make_error(ErrorCode::kParse,
                      "git index " + url + ": HEAD is no commit: " + git_message());
  }
  Commit head(commit);
  if (git_commit_tree(&tree, head.get()) != 0) {
    return make_error(ErrorCode::kIo, cache.string() + ": " + git_message());
  }
  Tree root(tree);
  Walk walk{&url, {}, std::nullopt};
  int rc = git_tree_walk(root.get(), GIT_TREEWALK_PRE, visit, &walk);
  if (walk.error) return *walk.error;
  if (rc != 0) return make_error(ErrorCode::kIo, cache.string() + ": " + git_message());
  std::sort(walk.names.begin(), walk.names.end());
  walk.names.erase(std::unique(walk.names.begin(), walk.names.end()), walk.names.end());
  logger.info("crates.git_index", {{"url", url},
                                   {"objects_received", received},
                                   {"crates", static_cast<uint64_t>(walk.names.size())}});
  return std::move(walk.names);
}

}  // namespace depot::crates

// pypi: for each chosen project, the upstream page (PEP 691 JSON preferred, PEP 503 HTML
// accepted) names files and their PEP 658 .metadata; those are blobs, stored content-addressed
// at packages/<sha[0:2]>/<sha[2:4]>/<sha[4:]>/<filename>. The mirror writes its own pages with
// relative links: simple/<project>/index.{html,v1_html,v1_json} (kIndex), then the root
// simple/index.{html,v1_html,v1_json} (kRoot). Upstream pages themselves are not published.

#include "sources/pypi/pypi_source.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/file_io.h"
#include "sources/pypi/simple_index.h"
#include "sources/pypi/simple_pages.h"
#include "transfer/http_util.h"

namespace depot::pypi {
namespace {


constexpr const char* kAccept =
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.1";
constexpr uint64_t kMaxPageBytes = 512ull << 20;

// Three names for one page: index.html for plain static servers; index.v1_html and
// index.v1_json for servers that negotiate on Accept.
Status add_pages(SnapshotContext& ctx, const std::string& prefix, const std::string& html,
                 const std::string& json, Stage stage, Snapshot& snap) {
  for (const char* name : {"index.html", "index.v1_html", "index.v1_json"}) {
    const std::string& content = std::string_view(name) == "index.v1_json" ? json : html;
    DEPOT_ASSIGN_OR_RETURN(Entry e,
                           generated_entry(ctx, content, prefix + name, stage));
    snap.entries.push_back(std::move(e));
  }
  return ok_status();
}

std::string metadata_url(const std::string& url) {
  size_t q = url.find('?');
  if (q == std::string::npos) return url + ".metadata";
  return url.substr(0, q) + ".metadata" + url.substr(q);
}

class PypiSource final : public Source {
 public:
  PypiSource(std::string index_url, std::vector<std::string> projects)
      : index_url_(std::move(index_url)), projects_(std::move(projects)) {}

  std::string name() const override { return "pypi"; }

  Result<Snapshot> snapshot(SnapshotContext& ctx) override {
    Snapshot snap;
    Blobs blobs;
    std::vector<IndexRequest> requests;  // every project page at once
    requests.reserve(projects_.size());
    for (const auto& project : projects_) {
      // Fetched under a name no entry uses, so it is never published.
      DEPOT_ASSIGN_OR_RETURN(RelPath private_path,
                             RelPath::parse("simple/" + project + "/.upstream-page"));
      requests.push_back(IndexRequest{
          index_url_ + "/" + project + "/", std::move(private_path), true, {}, {}, kAccept});
    }
    std::vector<IndexResult> pages = ctx.fetch_indexes(requests);
    for (size_t i = 0; i < projects_.size(); ++i) {
      DEPOT_TRY(snapshot_project(ctx, projects_[i], requests[i].url, pages[i], snap, blobs));
    }
    DEPOT_TRY(add_pages(ctx, "simple/", root_html(projects_), root_json(projects_),
                        Stage::kRoot, snap));
    return snap;
  }

 private:
  // Mirrored files by path, with the metadata file decided when the path was first listed: a
  // file two projects list is mirrored once, and every page describes that one copy.
  using Blobs = std::map<std::string, std::pair<bool, std::string>>;

  // Adds the files the project page at `url`, fetched as `fetched`, lists, and the project's
  // pages.
  Status snapshot_project(SnapshotContext& ctx, const std::string& project, const std::string& url,
                          IndexResult& fetched_page, Snapshot& snap, Blobs& blobs) {
    if (!fetched_page.ok()) return fetched_page.error();
    std::optional<FetchedIndex>& fetched = *fetched_page;
    if (!fetched) {
      return make_error(ErrorCode::kNotFound, "pypi: project " + quote_untrusted(project) +
                                                  " not found upstream (" + url + ")");
    }
    DEPOT_ASSIGN_OR_RETURN(std::string body, read_content(*fetched->content, url, kMaxPageBytes));
    const bool json = looks_like_json(body);
    DEPOT_ASSIGN_OR_RETURN(ProjectPage page, parse_project_page(body, url));
    std::vector<ListedFile> listed;
    listed.reserve(page.files.size());
    for (auto& f : page.files) {
      const std::string& sha = f.sha256;
      const std::string dir_part =
          "packages/" + sha.substr(0, 2) + "/" + sha.substr(2, 2) + "/" + sha.substr(4) + "/";
      auto rel = RelPath::parse(dir_part + f.filename);
      if (!rel.ok()) {
        return make_error(ErrorCode::kUnsafePath, "pypi: project " + quote_untrusted(project) +
                                                      ": refusing file name " +
                                                      quote_untrusted(f.filename));
      }
      auto [known, fresh] = blobs.try_emplace(rel->str(), f.has_metadata, f.metadata_sha256);
      if (!fresh) {
        f.has_metadata = known->second.first;
        f.metadata_sha256 = known->second.second;
      } else {
        Digests digests;
        digests.sha256 = sha;
        snap.entries.push_back(blob_entry(*rel, f.size, std::move(digests), f.url));
        if (f.has_metadata) {
          DEPOT_ASSIGN_OR_RETURN(RelPath md, RelPath::parse(rel->str() + ".metadata"));
          Digests md_digests;
          md_digests.sha256 = f.metadata_sha256;
          snap.entries.push_back(
              blob_entry(std::move(md), std::nullopt, std::move(md_digests), metadata_url(f.url)));
        }
      }
      listed.push_back({std::move(f), "../../" + dir_part + escape_url_segment(rel->filename())});
    }
    ctx.logger().info("pypi.project", {{"project", project},
                                       {"files", static_cast<uint64_t>(listed.size())},
                                       {"format", json ? "json" : "html"}});
    return add_pages(ctx, "simple/" + project + "/", project_html(project, listed),
                     project_json(project, listed), Stage::kIndex, snap);
  }

  std::string index_url_;              // ".../simple", no trailing slash
  std::vector<std::string> projects_;  // normalised, sorted, unique
};

}  // namespace

Result<std::unique_ptr<Source>> make_pypi_source(const SourceOptions& opts) {
  std::string index = opts.upstream;
  if (!is_http_url(index)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "pypi: the upstream must be an http(s) URL, got " + quote_untrusted(index));
  }
  while (index.ends_with("/")) index.pop_back();
  if (!index.ends_with("/simple")) index += "/simple";
  std::set<std::string> projects;
  for (const auto& raw : opts.list("project")) {
    std::string_view name = raw;
    while (!name.empty() && (name.front() == ' ' || name.front() == '\t')) name.remove_prefix(1);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    if (name.empty()) continue;
    if (!valid_project_name(name)) {
      return make_error(ErrorCode::kInvalidArgument,
                        "pypi: invalid project name " + quote_untrusted(raw));
    }
    projects.insert(normalize_name(name));
  }
  if (projects.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "pypi: name the projects to mirror with --project or --projects-from "
                      "(mirroring all of PyPI is not supported)");
  }
  return std::unique_ptr<Source>(std::make_unique<PypiSource>(
      std::move(index), std::vector<std::string>(projects.begin(), projects.end())));
}

}  // namespace depot::pypi

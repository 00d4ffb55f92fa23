#pragma once
// The PyPI Simple Repository API, read side: one project page, as PEP 691 JSON or PEP 503 HTML
// (with PEP 592 yanking and PEP 658/714 core metadata). Pure parsing, no I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/html_text.h"
#include "core/result.h"

namespace depot::pypi {

// One distribution file a project page lists.
struct DistFile {
  std::string filename;
  std::string url;               // absolute http(s) URL, resolved against the page URL, no fragment
  std::string sha256;            // lower-case hex; never empty after a successful parse
  std::optional<uint64_t> size;  // PEP 700 "size", when given
  std::optional<std::string> requires_python;  // unescaped text
  std::optional<std::string> yanked;           // set when yanked; the reason, possibly empty
  bool has_metadata = false;                   // PEP 658: <url>.metadata exists
  std::string metadata_sha256;                 // its sha256 when declared; may be empty
};

struct ProjectPage {
  std::vector<DistFile> files;
};

// PEP 503 normalisation: runs of '-', '_', '.' become one '-', ASCII lower case.
std::string normalize_name(std::string_view name);
// True for a valid PEP 508 distribution name (letters, digits, '-', '_', '.'; alphanumeric at
// both ends).
bool valid_project_name(std::string_view name);

// Resolves `ref` (absolute, scheme-relative, absolute-path or relative) against `base` (an
// absolute URL); drops the fragment of `ref`. Only http and https results are accepted.
Result<std::string> resolve_url(std::string_view base, std::string_view ref);

// Checks a distribution file name for use as a single path component in the mirror: no
// slashes, backslashes, control characters, leading dot, "." / ".."; at most 200 bytes.
Status check_filename(std::string_view filename, std::string_view project);

// True when `body` looks like a PEP 691 JSON document (first non-blank byte is '{').
bool looks_like_json(std::string_view body);

// Parses a project page fetched from `url` (used to resolve links and in error messages).
// Every file must carry a sha256 and a safe file name; duplicates of one file name are
// refused unless identical.
Result<ProjectPage> parse_project_json(std::string_view body, const std::string& url);
Result<ProjectPage> parse_project_html(std::string_view body, const std::string& url);
// JSON or HTML, by looks_like_json.
Result<ProjectPage> parse_project_page(std::string_view body, const std::string& url);

}  // namespace depot::pypi

#pragma once
// HTML directory listings for `depot serve --autoindex`. Thread-safe.

#include <string>
#include <string_view>

#include "core/result.h"

namespace depot {

// Lists the directory open as `dir_fd` (not consumed), whose request path is `rel`, sorted by
// name, directories first with a trailing '/'. Names are HTML-escaped and percent-encoded in
// hrefs; ".depot*" entries are left out.
Result<std::string> render_directory_listing(int dir_fd, std::string_view rel);

}  // namespace depot

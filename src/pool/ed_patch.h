#pragma once
// Ed-style patches as apt's rred method applies them (pdiffs of Packages files): commands
// "N" or "N,M" followed by a (append after N), c (change N..M) or d (delete N..M), one per
// line, in strictly descending line order; the text of a and c ends with a line that is
// exactly ".". LF line ends only. Nothing else (no s, no w) is accepted.
// Thread-safe (no shared state).

#include <filesystem>
#include <string>
#include <string_view>

#include "core/result.h"

namespace depot::pool {

// True when `text` has a line that is exactly "." (an ed patch cannot carry it as rred reads
// patches; such a text gets no patch).
bool has_bare_dot_line(std::string_view text);

// The ed script turning the file `from` into the file `to` (`diff --ed`, run through
// run_process; diffutils is essential on Debian). Empty when they are equal. kRefused when
// either holds a bare "." line; kIo naming both files when diff fails.
Result<std::string> make_ed_patch(const std::filesystem::path& from,
                                  const std::filesystem::path& to);

// Applies `patch` to `base` as rred does. kParse naming `what` and the patch line for an
// unknown command, commands out of order, a line number outside `base`, an unterminated text
// block or a missing final LF.
Result<std::string> apply_ed_patch(std::string_view base, std::string_view patch,
                                   std::string_view what = "patch");

}  // namespace depot::pool

#pragma once
// PdiffStore: index deltas (pdiffs, apt's Acquire::PDiffs) of the Packages files a daemon
// publishes, as CHAINED ed patches (no X-Patch-Precedence): link i takes Packages version i to
// version i+1, and Packages.diff/Index lists the links oldest first. State directory:
//   links/<from-sha256>-<to-sha256>.gz   one link, gzip of its ed patch: built once (content
//                                        addressed), reused by every later Index, never pruned
//   texts/<sha256>.gz                    the Packages versions some history still names (gzip -1)
//   tmp/                                 plain texts while diff runs (emptied by update())
//   repos/<suite>/<dir>/history          "<sha256> <size> <unix seconds>" per version, oldest
//                                        first, at most generations + 1 of them
//   repos/<suite>/<dir>/index            what to publish for <dir>: "current <sha256>", then
//                                        "patch <name> <link id> <gz sha256>" lines, a blank
//                                        line, and the Index text
// A version's unix seconds name the link that ends at it (dak's "%Y-%m-%d-%H%M.%S", strictly
// increasing within a history). Before an index file is written every chain it lists is
// applied with apply_ed_patch from each History start and must give Current's sha256; a link
// that fails is dropped, and every older one with it.
// Thread-safety: update() calls are serialized by an internal mutex; files_for() may run
// concurrently with them (it reads only files replaced by rename, links never change).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "core/logger.h"
#include "core/result.h"
#include "pool/apt_index.h"

namespace depot::pool {

struct PdiffUpdate {
  uint64_t indexes_changed = 0;  // index files rewritten (a new Packages version recorded)
  uint64_t links_built = 0;
  uint64_t links_dropped = 0;  // failed verification or could not be read
  bool superseded = false;     // stopped because still_current() said no
};

class PdiffStore {
 public:
  // `generations` (>= 1): links an Index lists at most.
  PdiffStore(std::filesystem::path dir, unsigned generations, Logger& logger);

  // Records the Packages files of one publication of `suite` (dists_dir: the generation's
  // dists/<suite>/, read as <component>/binary-<arch>/Packages): for each whose sha256 differs
  // from the last recorded version, builds the missing link and rewrites its index file.
  // Unchanged Packages keep their index file. `still_current` is asked before each Packages
  // file; false stops the run (superseded; what was built stays).
  Result<PdiffUpdate> update(const std::string& suite, const std::filesystem::path& dists_dir,
                             const std::function<bool()>& still_current);

  // The Packages.diff/ files of `dir` of `suite` when its recorded Current is `packages`'
  // sha256: Index (in_release) and each listed patch "<name>.gz". Empty when there is none,
  // when it belongs to another Packages version, or when a link file no longer has the sha256
  // recorded for it (logged).
  std::vector<IndexExtra> files_for(const std::string& suite, const std::string& dir,
                                    const Digests& packages) const;

  // True when a publication now would put other Packages.diff/ files than the generation at
  // `dists_dir` has for some Packages file (its Index differs from files_for()'s, or either
  // lacks one): the follow-up publication is due. Decided from the files alone, so a job
  // re-run after a crash decides the same.
  bool publication_due(const std::string& suite, const std::filesystem::path& dists_dir) const;

  const std::filesystem::path& dir() const { return dir_; }

 private:
  struct Version {
    std::string sha256;
    uint64_t size = 0;
    int64_t seconds = 0;
  };
  Status record(const std::string& suite, const std::string& dir, const std::string& text,
                PdiffUpdate& report);
  Result<bool> build_link(const Version& from, const Version& to, const std::string& to_text);
  std::filesystem::path text_path(const std::string& sha256) const;
  Result<std::string> read_text(const std::string& sha256) const;
  Status write_index(const std::filesystem::path& state, const std::vector<Version>& history,
                     PdiffUpdate& report);
  void prune_texts();

  std::filesystem::path dir_;
  unsigned generations_;
  Logger& log_;
  std::mutex mu_;
};

// dak's patch name for a unix time: "%Y-%m-%d-%H%M.%S" in UTC.
std::string pdiff_patch_name(int64_t unix_seconds);

// gzip (no name, mtime 0) and gunzip of a whole buffer; gunzip errors are kParse naming `what`.
std::string gzip_bytes(std::string_view data, int level = 9);
Result<std::string> gunzip_bytes(std::string_view gz, std::string_view what);

}  // namespace depot::pool

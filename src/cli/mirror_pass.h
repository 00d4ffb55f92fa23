#pragma once
// One pass of the mirror engine as `depot mirror` and `depot run`'s jobs both run it: the
// registry's source, the destination opened as a Target (directory, s3:// or cluster+http://),
// curl downloaders, and the engine. A source or destination that cannot be made is the pass's
// failure, reported like the engine's own (MirrorReport, a `mirror.failed` log event).
// Thread-safe: passes share nothing but the Logger.

#include <functional>
#include <memory>
#include <string>

#include "cli/target_options.h"
#include "core/clock.h"
#include "core/logger.h"
#include "mirror/engine.h"
#include "site/site_config.h"
#include "sources/source.h"

namespace depot {

// The engine's options for mirroring `kind` from `upstream` with the `depot mirror` settings `e`.
MirrorOptions engine_options(const std::string& kind, const std::string& upstream,
                             const site::EngineSettings& e);

struct MirrorPass {
  std::string kind;
  std::string dest;       // as `depot mirror`'s dir argument
  SourceOptions source;   // upstream and the registry's options
  MirrorOptions options;  // state_dir and the batch limits follow the opened destination
  TargetArgs target;
};

// Wraps each downloader the engine asks for (e.g. to give every download a cancel flag).
using DownloaderWrap = std::function<std::unique_ptr<Downloader>(std::unique_ptr<Downloader>)>;

MirrorReport run_mirror_pass(const MirrorPass& pass, Logger& logger, Clock& clock,
                             const std::function<void(const MirrorProgress&)>& progress,
                             const DownloaderWrap& wrap = {});

}  // namespace depot

#include "transfer/downloader.h"

namespace depot {

Result<FetchResult> Downloader::fetch(const FetchRequest& request, ByteSink& sink) {
  DownloadJob job{request, &sink};
  std::optional<Result<FetchResult>> out;
  run(std::span<DownloadJob>(&job, 1),
      [&out](size_t, const Result<FetchResult>& result) { out.emplace(result); });
  if (!out) return make_error(ErrorCode::kInternal, request.url + ": download did not finish");
  return std::move(*out);
}

}  // namespace depot

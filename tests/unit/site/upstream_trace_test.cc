#include "site/upstream_trace.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <span>
#include <vector>

#include "core/file_io.h"
#include "site/trace_file.h"
#include "support/temp_dir.h"

namespace depot::site {
namespace {

// Serves bodies by URL; any other URL is a 404, except those in `broken` (a 503 for good).
class MapDownloader final : public Downloader {
 public:
  void run(std::span<DownloadJob> jobs, const DoneFn& on_done, const ProgressFn&) override {
    for (size_t i = 0; i < jobs.size(); ++i) {
      const std::string& url = jobs[i].request.url;
      asked.push_back(url);
      if (broken.count(url)) {
        on_done(i, make_error(ErrorCode::kHttp, "HTTP 503"));
        continue;
      }
      auto it = bodies.find(url);
      if (it == bodies.end()) {
        on_done(i, make_error(ErrorCode::kNotFound, "HTTP 404"));
        continue;
      }
      (void)jobs[i].sink->write(std::as_bytes(std::span(it->second.data(), it->second.size())));
      FetchResult r;
      r.http_status = 200;
      r.bytes = it->second.size();
      on_done(i, r);
    }
  }
  std::map<std::string, std::string> bodies;
  std::set<std::string> broken;
  std::vector<std::string> asked;
};

constexpr const char* kBase = "http://up.example/debian/project/trace/";

std::string read(const std::filesystem::path& p) {
  auto text = read_whole_file(p, p.string());
  return text.ok() ? *text : "<missing>";
}

TEST(UpstreamTrace, CopiesMasterTheHierarchyAndTheListedTraces) {
  testing::TempDir dir;
  MapDownloader d;
  d.bodies[std::string(kBase) + "master"] = "Mon Dec  1 00:00:00 UTC 2026\nArchive serial: 2026120101\n";
  d.bodies[std::string(kBase) + "_hierarchy"] = "ftp-master.debian.org x y z\n";
  d.bodies[std::string(kBase) + "_traces"] = "ftp-master.debian.org\n../../etc/passwd\n_hidden\n";
  d.bodies[std::string(kBase) + "ftp-master.debian.org"] = "a trace\n";
  const auto trace = dir.path() / "debian" / "project" / "trace";
  auto n = copy_upstream_traces(d, "http://up.example/debian/", trace, null_logger());
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(*n, 3u);
  EXPECT_EQ(read(trace / "_hierarchy.mirror"), "ftp-master.debian.org x y z\n");
  EXPECT_EQ(read(trace / "ftp-master.debian.org"), "a trace\n");
  EXPECT_FALSE(std::filesystem::exists(trace / "_hierarchy"));  // the mirror's own, later
  for (const std::string& url : d.asked) {
    EXPECT_EQ(url.find(".."), std::string::npos) << "asked for a hostile name: " << url;
  }
  // The mirror's own trace then carries the archive's serial and extends the chain.
  TraceInfo info;
  info.upstream = "up.example";
  ASSERT_TRUE(write_trace(dir.path() / "debian", "mirror.example.org", info).ok());
  EXPECT_NE(read(trace / "mirror.example.org").find("Archive serial: 2026120101\n"),
            std::string::npos);
  const std::string chain = read(trace / "_hierarchy");
  EXPECT_EQ(chain.rfind("ftp-master.debian.org x y z\nmirror.example.org mirror.example.org ", 0),
            0u) << chain;
}

TEST(UpstreamTrace, AnUpstreamWithoutTracesCopiesNothing) {
  testing::TempDir dir;
  MapDownloader d;
  auto n = copy_upstream_traces(d, "http://up.example/debian", dir.path() / "t", null_logger());
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(*n, 0u);
}

TEST(UpstreamTrace, AFailingFetchNamesTheUrl) {
  testing::TempDir dir;
  MapDownloader d;
  d.broken.insert(std::string(kBase) + "_traces");
  auto n = copy_upstream_traces(d, "http://up.example/debian", dir.path() / "t", null_logger());
  ASSERT_FALSE(n.ok());
  EXPECT_NE(n.error().message.find(std::string(kBase) + "_traces"), std::string::npos);
}

}  // namespace
}  // namespace depot::site

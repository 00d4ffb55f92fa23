#include "site/trace_file.h"

#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "core/file_io.h"
#include "support/temp_dir.h"

namespace depot::site {
namespace {

namespace fs = std::filesystem;

WallTime at(int64_t unix_seconds) { return WallTime(std::chrono::seconds(unix_seconds)); }

std::string read(const fs::path& file) { return *read_whole_file(file, file.string()); }

TraceInfo sample() {
  TraceInfo info;
  info.started = at(1504221000);  // Thu, 31 Aug 2017 23:10:00
  info.ended = at(1504224000);    // Fri,  1 Sep 2017 00:00:00
  info.software = "depot 0.1.0";
  info.host = "box.example.org";
  info.maintainer = "Admins <admins@example.org>";
  info.country = "DE";
  info.trigger = "schedule";
  info.architectures = {"source", "amd64", "arm64", "amd64"};
  info.arch_include = {"arm64", "amd64"};
  info.upstream = "deb.debian.org";
  info.bytes = 3000000;
  info.seconds = 2999.6;
  return info;
}

TEST(TraceFile, DatesAreThoseOfPosixDateUtc) {
  EXPECT_EQ(posix_date(at(1504224000)), "Fri Sep  1 00:00:00 UTC 2017");
  EXPECT_EQ(rfc2822_date(at(1504224000)), "Fri, 01 Sep 2017 00:00:00 +0000");
  EXPECT_EQ(posix_date(at(1504137600 + 45296)), "Thu Aug 31 12:34:56 UTC 2017");
}

TEST(TraceFile, RendersFtpsyncFieldsInOrder) {
  EXPECT_EQ(render_trace(sample()),
            "Fri Sep  1 00:00:00 UTC 2017\n"
            "Date: Fri, 01 Sep 2017 00:00:00 +0000\n"
            "Date-Started: Thu, 31 Aug 2017 23:10:00 +0000\n"
            "Creator: depot 0.1.0\n"
            "Running on host: box.example.org\n"
            "Maintainer: Admins <admins@example.org>\n"
            "Country: DE\n"
            "Trigger: schedule\n"
            "Architectures: amd64 arm64 source\n"
            "Architectures-Configuration: INCLUDE amd64 arm64\n"
            "Upstream-mirror: deb.debian.org\n"
            "Total bytes received in rsync: 3000000\n"
            "Total time spent in rsync: 3000\n"
            "Average rate: 1000 B/s\n");
}

TEST(TraceFile, EveryLineAfterTheDateIsKeyColonValue) {
  TraceInfo info = sample();
  info.location = "Rack 4\nInjected: yes";
  info.bytes = 0;
  info.seconds = 0;
  std::string text = render_trace(info);
  EXPECT_NE(text.find("Location: Rack 4 Injected: yes\n"), std::string::npos);
  EXPECT_EQ(text.find("Average rate"), std::string::npos);
  EXPECT_NE(text.find("Total time spent in rsync: 0\n"), std::string::npos);
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);
  EXPECT_TRUE(
      std::regex_match(line, std::regex(R"(\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d UTC \d{4})")));
  while (std::getline(in, line)) EXPECT_TRUE(std::regex_match(line, std::regex(R"([\w -]+:.*)")));
}

TEST(TraceFile, RefusesNamesThatEscapeOrCollide) {
  for (const char* bad : {"", "a/b", "..", "x..y", ".hidden", "_traces", "-x", "master", "box.new",
                          "box-stage1", "b\xc3\xa4r"}) {
    Status st = check_site_name(bad);
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(check_site_name("mirror-1.example.org").ok());
  testing::TempDir dir;
  Status st = write_trace(dir.path(), "../escape", sample());
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("../escape"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir.path() / "project"));
}

TEST(TraceFile, WritesTraceHierarchyAndListBesideTheArchiveTrace) {
  testing::TempDir dir;
  fs::path trace = dir.path() / "project" / "trace";
  fs::create_directories(trace);
  ASSERT_TRUE(write_whole_file(trace / "ftp-master.debian.org",
                               "Thu Aug 31 20:49:48 UTC 2017\nArchive serial: 2017083104\n")
                  .ok());
  fs::create_symlink("ftp-master.debian.org", trace / "master");
  ASSERT_TRUE(write_whole_file(trace / "_hierarchy.mirror",
                               "syncproxy.example.net syncproxy.example.net sp.example.net "
                               "ftp-master.debian.org\n")
                  .ok());
  auto old = fs::last_write_time(trace / "ftp-master.debian.org") - std::chrono::hours(1);
  fs::last_write_time(trace / "ftp-master.debian.org", old);

  TraceInfo info = sample();
  ASSERT_TRUE(write_trace(dir.path(), "box.example.org", info).ok());
  ASSERT_TRUE(write_trace(dir.path(), "box.example.org", info).ok());

  std::string text = read(trace / "box.example.org");
  EXPECT_NE(text.find("\nArchive serial: 2017083104\n"), std::string::npos);
  std::string tree =
      "syncproxy.example.net syncproxy.example.net sp.example.net ftp-master.debian.org\n"
      "box.example.org box.example.org box.example.org deb.debian.org\n";
  EXPECT_EQ(read(trace / "_hierarchy"), tree);
  EXPECT_EQ(read(trace / "_hierarchy.mirror"), tree);
  EXPECT_EQ(read(trace / "_traces"), "ftp-master.debian.org\nbox.example.org\n");
  for (const auto& e : fs::directory_iterator(trace)) {
    EXPECT_FALSE(e.path().string().ends_with(".new")) << e.path();
  }
}

TEST(TraceFile, WithoutAnArchiveTraceThereIsNoSerialAndTheHostDefaults) {
  testing::TempDir dir;
  TraceInfo info = sample();
  info.host.clear();
  ASSERT_TRUE(write_trace(dir.path(), "box", info).ok());
  std::string text = read(dir.path() / "project" / "trace" / "box");
  EXPECT_EQ(text.find("Archive serial"), std::string::npos);
  EXPECT_EQ(text.find("Running on host: \n"), std::string::npos);
}

TEST(TraceFile, AnUnwritableOrMissingMirrorNamesTheDirectory) {
  testing::TempDir dir;
  Status missing = write_trace(dir.path() / "nowhere", "box", sample());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("nowhere"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir.path() / "nowhere"));

  ASSERT_TRUE(write_whole_file(dir.path() / "project", "a file, not a directory").ok());
  Status st = write_trace(dir.path(), "box", sample());
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kIo);
  EXPECT_NE(st.error().message.find("project/trace"), std::string::npos);
}

}  // namespace
}  // namespace depot::site

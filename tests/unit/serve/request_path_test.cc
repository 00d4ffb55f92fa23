#include "serve/request_path.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

namespace depot {
namespace {

namespace fs = std::filesystem;

TEST(RequestPath, DecodesOrdinaryTargets) {
  struct Case {
    const char* target;
    const char* rel;
    bool trailing;
    const char* query;
  } cases[] = {
      {"/", "", true, ""},
      {"/a", "a", false, ""},
      {"/a/b/", "a/b", true, ""},
      {"//a///b//", "a/b", true, ""},
      {"/pool/main/j/jq/jq_1.6-2_amd64.deb", "pool/main/j/jq/jq_1.6-2_amd64.deb", false, ""},
      {"/a/b%2Bc", "a/b+c", false, ""},
      {"/a+b", "a+b", false, ""},
      {"/%41%62", "Ab", false, ""},
      {"/simple/pkg/?x=1&y=%2F", "simple/pkg", true, "x=1&y=%2F"},
      {"/a?", "a", false, ""},
      {"/?q", "", true, "q"},
      {"/a?b?c", "a", false, "b?c"},
      {"/..a/a../.x/a.b", "..a/a../.x/a.b", false, ""},
      {"/a%20b", "a b", false, ""},
      {"/caf%C3%A9", "caf\xc3\xa9", false, ""},
      {"/a/x.depot/.dep/depot", "a/x.depot/.dep/depot", false, ""},
  };
  for (const auto& c : cases) {
    auto r = parse_request_target(c.target);
    ASSERT_TRUE(r.ok()) << c.target << ": " << r.error().message;
    EXPECT_EQ(r->rel, c.rel) << c.target;
    EXPECT_EQ(r->trailing_slash, c.trailing) << c.target;
    EXPECT_EQ(r->query, c.query) << c.target;
  }
}

TEST(RequestPath, RefusesTraversalInEverySpelling) {
  const std::string overlong = "/" + std::string(256, 'a');
  std::string long_path;
  for (int i = 0; i < 20; ++i) long_path += "/" + std::string(250, 'b');
  const std::string targets[] = {
      "/../etc/passwd",
      "/a/../../etc/passwd",
      "/a/..",
      "/./a",
      "/a/.",
      "/%2e%2e/etc/passwd",
      "/%2E%2e/etc/passwd",
      "/a/%2E%2e/",
      "/%2e/a",
      "/.%2e/x",
      "/..%2fetc%2fpasswd",
      "/a%2F..%2F..%2Fb",
      "/a%2fb",
      "/a%5cb",
      "/a%5C..%5Cb",
      "/a\\..\\b",
      "/a\\b",
      std::string("/a\0b", 4),
      "/a%00b",
      "/a%00",
      "/a%0ab",
      "/a%7f",
      "/a\nb",
      "/a\rb",
      "/a\tb",
      "/a\x7f",
      "/a%",
      "/a%2",
      "/a%zz",
      "/a%2g",
      "/a%%32e",
      "/a#frag",
      "/a?x#frag",
      "http://x/a",
      "http://x/",
      "https://example.org/../x",
      "*",
      "a/b",
      "",
      "%2fetc/passwd",
      overlong,
      long_path,
  };
  for (const auto& t : targets) {
    auto r = parse_request_target(t);
    EXPECT_FALSE(r.ok()) << t;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, ErrorCode::kUnsafePath) << t;
    }
  }
}

TEST(RequestPath, ComponentLengthBoundary) {
  auto ok = parse_request_target("/" + std::string(255, 'a'));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->rel.size(), 255u);
  // The limit applies to the decoded component: 255 escapes decode to 255 bytes.
  std::string escaped = "/";
  for (int i = 0; i < 255; ++i) escaped += "%41";
  EXPECT_TRUE(parse_request_target(escaped).ok());
  EXPECT_FALSE(parse_request_target(escaped + "%41").ok());
}

TEST(RequestPath, PrivateStateIsNotFound) {
  for (const char* t : {"/.depot", "/.depot/", "/.depot/state.db", "/a/.depot/x",
                        "/%2edepot/state.db", "/.depot-tmp/x", "/.depotpartial", "/.depot?x=1"}) {
    auto r = parse_request_target(t);
    ASSERT_FALSE(r.ok()) << t;
    EXPECT_EQ(r.error().code, ErrorCode::kNotFound) << t;
  }
  // A traversal attempt that also names .depot is still unsafe (400, not 404).
  auto r = parse_request_target("/.depot/../x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnsafePath);
}

TEST(RequestPath, EscapePathForUrl) {
  EXPECT_EQ(escape_path_for_url("pool/main/j/jq_1.6~rc-2_amd64.deb"),
            "pool/main/j/jq_1.6~rc-2_amd64.deb");
  EXPECT_EQ(escape_path_for_url("a b+c%d?e#f\"g<h>"), "a%20b%2Bc%25d%3Fe%23f%22g%3Ch%3E");
  EXPECT_EQ(escape_path_for_url("caf\xc3\xa9"), "caf%C3%A9");
  EXPECT_EQ(escape_path_for_url(""), "");
  // Round trip through the parser.
  const std::string rel = "dir with space/x+y%z/\xe2\x82\xac.whl";
  auto back = parse_request_target("/" + escape_path_for_url(rel));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->rel, rel);
}

class RequestPathOpenBeneath : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/depot-open-beneath-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    root_ = base_ / "root";
    fs::create_directories(root_ / "sub" / "deeper");
    write(root_ / "sub" / "file.txt", "hello");
    write(base_ / "secret", "outside");
    fs::create_symlink("sub/file.txt", root_ / "inside-link");
    fs::create_symlink("../file.txt", root_ / "sub" / "deeper" / "up-link");
    fs::create_symlink("sub", root_ / "dir-link");
    fs::create_symlink("../secret", root_ / "escape-link");
    fs::create_symlink("../../secret", root_ / "sub" / "escape-link2");
    fs::create_symlink((base_ / "secret").string(), root_ / "absolute-link");
    fs::create_symlink("/proc/self/root/etc/hostname", root_ / "magic-link");
    fs::create_symlink("loop-b", root_ / "loop-a");
    fs::create_symlink("loop-a", root_ / "loop-b");
    fs::create_symlink("missing", root_ / "dangling");
    ASSERT_EQ(::mkfifo((root_ / "fifo").c_str(), 0600), 0);
    root_fd_.reset(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(root_fd_.valid());
  }
  void TearDown() override {
    root_fd_.reset();
    std::error_code ec;
    fs::remove_all(base_, ec);
  }
  static void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }
  static std::string read_all(int fd) {
    std::string out;
    char buf[256];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    return out;
  }

  fs::path base_;
  fs::path root_;
  UniqueFd root_fd_;
};

TEST_F(RequestPathOpenBeneath, OpensRegularFilesAndDirectories) {
  auto f = open_beneath(root_fd_.get(), "sub/file.txt");
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_TRUE(S_ISREG(f->st.st_mode));
  EXPECT_EQ(f->st.st_size, 5);
  EXPECT_EQ(read_all(f->fd.get()), "hello");
  int fl = ::fcntl(f->fd.get(), F_GETFL);
  EXPECT_EQ(fl & O_NONBLOCK, 0);
  EXPECT_NE(::fcntl(f->fd.get(), F_GETFD) & FD_CLOEXEC, 0);

  auto d = open_beneath(root_fd_.get(), "sub");
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(S_ISDIR(d->st.st_mode));
  auto r = open_beneath(root_fd_.get(), "");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(S_ISDIR(r->st.st_mode));
}

TEST_F(RequestPathOpenBeneath, FollowsSymlinksThatStayInside) {
  for (const char* rel : {"inside-link", "sub/deeper/up-link", "dir-link/file.txt"}) {
    auto f = open_beneath(root_fd_.get(), rel);
    ASSERT_TRUE(f.ok()) << rel << ": " << f.error().message;
    EXPECT_EQ(read_all(f->fd.get()), "hello") << rel;
  }
}

TEST_F(RequestPathOpenBeneath, RefusesEscapes) {
  for (const char* rel : {"escape-link", "sub/escape-link2", "absolute-link", "magic-link",
                          "loop-a", "../secret", "sub/../../secret", "/etc/hostname"}) {
    auto f = open_beneath(root_fd_.get(), rel);
    ASSERT_FALSE(f.ok()) << rel;
    EXPECT_EQ(f.error().code, ErrorCode::kUnsafePath) << rel << ": " << f.error().message;
  }
}

TEST_F(RequestPathOpenBeneath, MissingAndSpecialFilesAreNotFound) {
  for (const char* rel : {"nope", "sub/nope", "sub/file.txt/x", "dangling", "fifo"}) {
    auto f = open_beneath(root_fd_.get(), rel);
    ASSERT_FALSE(f.ok()) << rel;
    EXPECT_EQ(f.error().code, ErrorCode::kNotFound) << rel << ": " << f.error().message;
  }
}

TEST_F(RequestPathOpenBeneath, SocketIsNotFound) {
  int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(s, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = (root_ / "sock").string();
  if (path.size() >= sizeof addr.sun_path) GTEST_SKIP() << "temp path too long for a socket";
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  auto f = open_beneath(root_fd_.get(), "sock");
  ::close(s);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace depot

#include "storage/s3/s3_credentials.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "support/temp_dir.h"

namespace depot {
namespace {

EnvFn env_of(std::map<std::string, std::string> vars) {
  return [vars](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

constexpr const char* kFile = R"(# a comment
; another comment
[default]
aws_access_key_id = AKDEFAULT
aws_secret_access_key=SKDEFAULT

[mirror]
  AWS_ACCESS_KEY_ID =  AKMIRROR
aws_secret_access_key = SK = with equals
aws_session_token = TOKEN
region = eu-west-1

[half]
aws_access_key_id = AKHALF
[mirror]
aws_secret_access_key = SKLATER
)";

TEST(S3Credentials, FromEnvironment) {
  auto c = load_s3_credentials(env_of(
      {{"AWS_ACCESS_KEY_ID", "AK"}, {"AWS_SECRET_ACCESS_KEY", "SK"}, {"AWS_SESSION_TOKEN", "T"}}));
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->access_key, "AK");
  EXPECT_EQ(c->secret_key, "SK");
  EXPECT_EQ(c->session_token, "T");
  EXPECT_EQ(c->source, "environment");
}

TEST(S3Credentials, HalfTheEnvironmentIsAnError) {
  auto c = load_s3_credentials(env_of({{"AWS_ACCESS_KEY_ID", "AK"}, {"HOME", "/nonexistent"}}));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("AWS_SECRET_ACCESS_KEY is unset"), std::string::npos)
      << c.error().message;
}

TEST(S3Credentials, ParsesProfiles) {
  auto d = parse_s3_credentials_file(kFile, "default", "/h/.aws/credentials");
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->access_key, "AKDEFAULT");
  EXPECT_EQ(d->secret_key, "SKDEFAULT");
  EXPECT_EQ(d->session_token, "");
  EXPECT_EQ(d->source, "/h/.aws/credentials [default]");

  auto m = parse_s3_credentials_file(kFile, "mirror", "f");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->access_key, "AKMIRROR");
  EXPECT_EQ(m->secret_key, "SKLATER");  // a repeated section merges, later values win
  EXPECT_EQ(m->session_token, "TOKEN");
}

TEST(S3Credentials, MissingProfileOrKeysNameTheFileAndProfile) {
  auto none = parse_s3_credentials_file(kFile, "nope", "/h/creds");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().message, "/h/creds [nope]: no such profile");
  auto half = parse_s3_credentials_file(kFile, "half", "/h/creds");
  ASSERT_FALSE(half.ok());
  EXPECT_EQ(half.error().message, "/h/creds [half]: no aws_secret_access_key");
  auto empty = parse_s3_credentials_file("[p]\n", "p", "f");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().message, "f [p]: no aws_access_key_id");
}

TEST(S3Credentials, MalformedLinesNameTheLine) {
  auto r = parse_s3_credentials_file("[p]\naws_access_key_id AK\n", "p", "f");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("f:2:"), std::string::npos) << r.error().message;
  auto s = parse_s3_credentials_file("[p\n", "p", "f");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("f:1: unterminated"), std::string::npos);
  // A malformed line in another profile does not matter.
  EXPECT_TRUE(parse_s3_credentials_file("[x]\ngarbage\n[p]\naws_access_key_id=a\n"
                                        "aws_secret_access_key=b\n",
                                        "p", "f")
                  .ok());
}

TEST(S3Credentials, FromProfileFile) {
  testing::TempDir tmp;
  std::string path = (tmp.path() / "creds").string();
  std::ofstream(path) << kFile;
  auto c = load_s3_credentials(
      env_of({{"AWS_SHARED_CREDENTIALS_FILE", path}, {"AWS_PROFILE", "mirror"}}));
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->access_key, "AKMIRROR");

  std::filesystem::create_directories(tmp.path() / ".aws");
  std::ofstream(tmp.path() / ".aws" / "credentials") << kFile;
  auto h = load_s3_credentials(env_of({{"HOME", tmp.path().string()}}));
  ASSERT_TRUE(h.ok()) << h.error().message;
  EXPECT_EQ(h->access_key, "AKDEFAULT");
}

TEST(S3Credentials, MissingFileNamesIt) {
  auto c = load_s3_credentials(env_of({{"HOME", "/nonexistent-home"}}));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("/nonexistent-home/.aws/credentials cannot be read"),
            std::string::npos)
      << c.error().message;
  auto n = load_s3_credentials(env_of({}));
  ASSERT_FALSE(n.ok());
  EXPECT_NE(n.error().message.find("HOME"), std::string::npos);
}

}  // namespace
}  // namespace depot

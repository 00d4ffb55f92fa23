// Signature checks against keys made in the test with gpg (a throwaway GNUPGHOME).

#include "sources/gpgv.h"

#include <gtest/gtest.h>

#include <fstream>

#include "core/subprocess.h"
#include "support/temp_dir.h"

namespace depot {
namespace {

namespace fs = std::filesystem;

class Gpgv : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    for (const char* who : {"good", "other"}) {
      fs::path home = dir_->path() / who;
      fs::create_directories(home);
      fs::permissions(home, fs::perms::owner_all);
      gpg(who, {"--quick-gen-key", std::string(who) + " <" + who + "@depot.test>", "ed25519",
                "sign", "never"});
    }
    auto armored = gpg("good", {"--armor", "--export"});
    std::ofstream(dir_->path() / "good.asc") << armored;
    std::ofstream(dir_->path() / "good.gpg", std::ios::binary) << gpg("good", {"--export"});
    std::ofstream(dir_->path() / "Release") << "Suite: s\nSHA256:\n " << std::string(64, 'a')
                                            << " 1 main/x\n";
    gpg("good", {"--clearsign", "-o", (dir_->path() / "InRelease").string(),
                 (dir_->path() / "Release").string()});
    gpg("good", {"--detach-sign", "-o", (dir_->path() / "Release.gpg").string(),
                 (dir_->path() / "Release").string()});
    gpg("other", {"--clearsign", "-o", (dir_->path() / "InRelease.other").string(),
                  (dir_->path() / "Release").string()});
  }
  static void TearDownTestSuite() {
    for (const char* who : {"good", "other"}) {  // the agents gpg started for these homes
      (void)run_process({"gpgconf", "--homedir", (dir_->path() / who).string(), "--kill", "gpg-agent"});
    }
    delete dir_;
  }

  static std::string gpg(const std::string& who, std::vector<std::string> args) {
    std::vector<std::string> argv = {"gpg", "--batch", "--yes", "--passphrase", "",
                                     "--homedir", (dir_->path() / who).string()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run_process(argv);
    EXPECT_TRUE(r.ok() && r->exit_code == 0) << (r.ok() ? r->err : r.error().message);
    return r.ok() ? r->out : "";
  }
  static fs::path at(const std::string& name) { return dir_->path() / name; }
  // The bytes of the fixture file `name`.
  static std::string text_of(const std::string& name) {
    std::ifstream in(at(name), std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  SignatureVerifier verifier(const std::string& keyring) {
    auto v = SignatureVerifier::open(at(keyring), scratch_.path());
    EXPECT_TRUE(v.ok()) << v.error().to_string();
    return std::move(v).value();
  }

  static testing::TempDir* dir_;
  testing::TempDir scratch_;
};
testing::TempDir* Gpgv::dir_ = nullptr;

TEST_F(Gpgv, GoodClearsignedReturnsTheSignedText) {
  for (const char* keyring : {"good.gpg", "good.asc"}) {
    auto v = verifier(keyring);
    auto text = v.verify_clearsigned(text_of("InRelease"), "InRelease");
    ASSERT_TRUE(text.ok()) << keyring << ": " << text.error().to_string();
    EXPECT_NE(text->find("Suite: s"), std::string::npos);
    EXPECT_EQ(text->find("BEGIN PGP"), std::string::npos);
  }
}

TEST_F(Gpgv, GoodDetachedSignature) {
  auto v = verifier("good.asc");
  Status s = v.verify_detached(text_of("Release"), text_of("Release.gpg"), "Release.gpg");
  EXPECT_TRUE(s.ok()) << s.error().to_string();
}

TEST_F(Gpgv, UnknownKeyIsRefused) {
  auto v = verifier("good.gpg");
  auto text = v.verify_clearsigned(text_of("InRelease.other"), "http://u/InRelease");
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().code, ErrorCode::kSignature);
  EXPECT_NE(text.error().message.find("http://u/InRelease"), std::string::npos);
  EXPECT_NE(text.error().message.find("not in the keyring"), std::string::npos);
}

TEST_F(Gpgv, TamperedTextIsRefused) {
  std::ifstream in(at("InRelease"));
  std::string doc((std::istreambuf_iterator<char>(in)), {});
  doc.replace(doc.find("Suite: s"), 8, "Suite: t");
  std::ofstream(at("InRelease.tampered")) << doc;
  auto v = verifier("good.gpg");
  auto text = v.verify_clearsigned(text_of("InRelease.tampered"), "InRelease");
  ASSERT_FALSE(text.ok());
  EXPECT_NE(text.error().message.find("bad signature"), std::string::npos) << text.error().message;

  std::ofstream(at("Release.tampered")) << "Suite: t\n";
  EXPECT_FALSE(v.verify_detached(text_of("Release.tampered"), text_of("Release.gpg"), "R").ok());
}

TEST_F(Gpgv, UnsignedIsRefused) {
  auto v = verifier("good.gpg");
  EXPECT_FALSE(v.verify_clearsigned(text_of("Release"), "InRelease").ok());
}

TEST(Dearmor, RefusesGarbage) {
  EXPECT_FALSE(dearmor("hello", "k").ok());
  EXPECT_FALSE(dearmor("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n!!!!\n-----END PGP PUBLIC KEY BLOCK-----\n", "k").ok());
}

TEST(GpgvStatus, NeedsGoodAndValidAndExitZero) {
  const std::string good =
      "[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG 0123456789ABCDEF t\n"
      "[GNUPG:] VALIDSIG F 2024-01-01 1 0 4 0 22 10 01 F\n";
  EXPECT_TRUE(check_gpgv_status(good, 0, "", "InRelease").ok());
  EXPECT_FALSE(check_gpgv_status(good, 1, "", "InRelease").ok());
  auto weak = check_gpgv_status(
      "[GNUPG:] GOODSIG A t\n[GNUPG:] VALIDSIG F 2024-01-01 1 0 4 0 22 2 01 F\n", 0, "", "R");
  ASSERT_FALSE(weak.ok());
  EXPECT_NE(weak.error().message.find("weak hash"), std::string::npos);
  auto bad = check_gpgv_status("[GNUPG:] BADSIG A t\n", 1, "gpgv: BAD signature\n", "R");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kSignature);
  EXPECT_NE(bad.error().message.find("[gpgv: gpgv: BAD signature]"), std::string::npos);
  EXPECT_FALSE(check_gpgv_status("", 0, "", "R").ok());
  EXPECT_FALSE(check_gpgv_status("GOODSIG\nVALIDSIG\n", 0, "", "R").ok());
}

}  // namespace
}  // namespace depot

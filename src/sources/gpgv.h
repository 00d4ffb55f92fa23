#pragma once
// Signature checks of signed roots (apt InRelease / Release.gpg, yum repomd.xml.asc) with gpgv
// against one keyring file (binary or ASCII-armored), accepting what apt accepts: a good, valid
// signature by a key in the keyring, made with a hash stronger than SHA-1. Not thread-safe
// (shares a scratch directory).

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace depot {

class SignatureVerifier {
 public:
  // `scratch` is a private directory for gpgv's home and a dearmored keyring copy.
  static Result<SignatureVerifier> open(const std::filesystem::path& keyring,
                                        const std::filesystem::path& scratch);

  // Verifies a clearsigned document (InRelease) and returns the text the signature covers.
  Result<std::string> verify_clearsigned(std::string_view document, const std::string& name);
  // Verifies a detached signature `sig` (Release.gpg) over `data` (Release).
  Status verify_detached(std::string_view data, std::string_view sig, const std::string& name);

 private:
  SignatureVerifier(std::filesystem::path keyring, std::filesystem::path scratch)
      : keyring_(std::move(keyring)), scratch_(std::move(scratch)) {}
  Status run(const std::vector<std::string>& files, const std::string& name,
             const std::filesystem::path* output);

  std::filesystem::path keyring_;  // binary keyring handed to gpgv
  std::filesystem::path scratch_;
};

// The verdict of gpgv's --status-fd output `status` and `exit_code` by the rules above: a
// kSignature error naming `name`, with the start of gpgv's `stderr_text`, unless good and valid.
Status check_gpgv_status(std::string_view status, int exit_code, std::string_view stderr_text,
                         const std::string& name);

// Decodes an ASCII-armored OpenPGP block sequence into binary packets.
Result<std::string> dearmor(std::string_view armored, const std::string& name);

}  // namespace depot

#include "sources/gpgv.h"

#include <openssl/evp.h>


#include "core/file_io.h"
#include "core/subprocess.h"

namespace depot {
namespace {

namespace fs = std::filesystem;

std::vector<std::string_view> split_words(std::string_view line) {
  std::vector<std::string_view> out;
  while (!line.empty()) {
    size_t sp = line.find(' ');
    if (sp != 0) out.push_back(line.substr(0, sp));
    if (sp == std::string_view::npos) break;
    line.remove_prefix(sp + 1);
  }
  return out;
}

// Hash algorithm ids of OpenPGP (RFC 4880 9.4) apt no longer trusts: MD5, SHA-1, RIPEMD-160.
bool weak_hash(std::string_view id) { return id == "1" || id == "2" || id == "3"; }

}  // namespace

Result<std::string> dearmor(std::string_view armored, const std::string& name) {
  std::string out;
  bool in_block = false, in_body = false, any = false;
  std::string body;
  while (!armored.empty()) {
    size_t nl = armored.find('\n');
    std::string_view line = armored.substr(0, nl);
    armored.remove_prefix(nl == std::string_view::npos ? armored.size() : nl + 1);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (!in_block) {
      if (line.starts_with("-----BEGIN PGP ")) in_block = true, in_body = false, body.clear();
      continue;
    }
    if (line.starts_with("-----END PGP ")) {
      std::string bin(body.size() / 4 * 3 + 3, '\0');
      EVP_ENCODE_CTX* ctx = EVP_ENCODE_CTX_new();
      EVP_DecodeInit(ctx);
      int n1 = 0, n2 = 0;
      int rc = EVP_DecodeUpdate(ctx, reinterpret_cast<unsigned char*>(bin.data()), &n1,
                                reinterpret_cast<const unsigned char*>(body.data()),
                                static_cast<int>(body.size()));
      int rc2 = EVP_DecodeFinal(ctx, reinterpret_cast<unsigned char*>(bin.data()) + n1, &n2);
      EVP_ENCODE_CTX_free(ctx);
      if (rc < 0 || rc2 < 0 || n1 + n2 == 0) {
        return make_error(ErrorCode::kParse, name + ": bad base64 in armored key block");
      }
      bin.resize(static_cast<size_t>(n1 + n2));
      out += bin;
      in_block = false;
      any = true;
      continue;
    }
    if (!in_body) {
      if (line.empty()) in_body = true;  // end of armor headers
      continue;
    }
    if (line.starts_with("=")) continue;  // CRC-24 line
    body.append(line);
  }
  if (!any) return make_error(ErrorCode::kParse, name + ": no complete armored key block");
  return out;
}

Result<SignatureVerifier> SignatureVerifier::open(const fs::path& keyring, const fs::path& scratch) {
  DEPOT_ASSIGN_OR_RETURN(std::string data, read_whole_file(keyring, keyring.string()));
  std::error_code ec;
  fs::create_directories(scratch / "gnupg", ec);
  if (ec) return make_error(ErrorCode::kIo, scratch.string() + ": " + ec.message());
  fs::permissions(scratch / "gnupg", fs::perms::owner_all, ec);
  size_t first = data.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && std::string_view(data).substr(first).starts_with("-----BEGIN PGP")) {
    DEPOT_ASSIGN_OR_RETURN(std::string bin, dearmor(data, keyring.string()));
    fs::path copy = scratch / "keyring.gpg";
    DEPOT_TRY(write_whole_file(copy, bin));
    return SignatureVerifier(copy, scratch);
  }
  if (data.empty()) return make_error(ErrorCode::kInvalidArgument, keyring.string() + ": empty keyring");
  return SignatureVerifier(fs::absolute(keyring), scratch);
}

Status SignatureVerifier::run(const std::vector<std::string>& files, const std::string& name,
                              const fs::path* output) {
  std::vector<std::string> argv = {"gpgv", "--homedir", (scratch_ / "gnupg").string(),
                                   "--status-fd", "1", "--keyring", keyring_.string()};
  if (output) {
    std::error_code ec;
    fs::remove(*output, ec);
    argv.insert(argv.end(), {"--output", output->string()});
  }
  argv.insert(argv.end(), files.begin(), files.end());
  DEPOT_ASSIGN_OR_RETURN(ProcessResult r, run_process(argv));
  return check_gpgv_status(r.out, r.exit_code, r.err, name);
}

Status check_gpgv_status(std::string_view status, int exit_code, std::string_view stderr_text,
                         const std::string& name) {
  bool good = false, valid = false;
  std::string problem;
  while (!status.empty()) {
    size_t nl = status.find('\n');
    std::string_view line = status.substr(0, nl);
    status.remove_prefix(nl == std::string_view::npos ? status.size() : nl + 1);
    if (!line.starts_with("[GNUPG:] ")) continue;
    auto w = split_words(line.substr(9));
    if (w.empty()) continue;
    if (w[0] == "GOODSIG") {
      good = true;
    } else if (w[0] == "VALIDSIG") {
      valid = true;
      if (w.size() > 8 && weak_hash(w[8])) problem = "signature uses a weak hash (SHA-1 or older)";
    } else if (w[0] == "BADSIG") {
      problem = "bad signature";
    } else if (w[0] == "NO_PUBKEY") {
      problem = "signed by a key not in the keyring (" + std::string(w.size() > 1 ? w[1] : "") + ")";
    } else if (w[0] == "EXPKEYSIG") {
      problem = "signing key has expired";
    } else if (w[0] == "REVKEYSIG") {
      problem = "signing key was revoked";
    } else if (w[0] == "EXPSIG") {
      problem = "signature has expired";
    } else if (w[0] == "NODATA") {
      problem = "no signature found";
    }
  }
  if (problem.empty() && (exit_code != 0 || !good || !valid)) {
    problem = "signature not verified (gpgv exit " + std::to_string(exit_code) + ")";
  }
  if (!problem.empty()) {
    std::string detail(stderr_text);
    while (!detail.empty() && detail.back() == '\n') detail.pop_back();
    if (detail.size() > 400) detail.resize(400);
    for (char& c : detail) {
      if (c == '\n') c = ';';
    }
    return make_error(ErrorCode::kSignature,
                      name + ": " + problem + (detail.empty() ? "" : " [gpgv: " + detail + "]"));
  }
  return ok_status();
}

Result<std::string> SignatureVerifier::verify_clearsigned(std::string_view document,
                                                          const std::string& name) {
  fs::path in = scratch_ / "clearsigned.in";
  fs::path out = scratch_ / "signed.txt";
  DEPOT_TRY(write_whole_file(in, document));
  DEPOT_TRY(run({in.string()}, name, &out));
  return read_whole_file(out, name);
}

Status SignatureVerifier::verify_detached(std::string_view data, std::string_view sig,
                                          const std::string& name) {
  fs::path data_file = scratch_ / "detached.data";
  fs::path sig_file = scratch_ / "detached.sig";
  DEPOT_TRY(write_whole_file(data_file, data));
  DEPOT_TRY(write_whole_file(sig_file, sig));
  return run({sig_file.string(), data_file.string()}, name, nullptr);
}

}  // namespace depot

#include "sources/apt/release.h"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <unordered_map>

#include "sources/apt/deb822.h"

namespace depot::apt {
namespace {

constexpr std::pair<const char*, DigestAlgo> kSections[] = {
    {"MD5Sum", DigestAlgo::kMd5},
    {"SHA1", DigestAlgo::kSha1},
    {"SHA256", DigestAlgo::kSha256},
    {"SHA512", DigestAlgo::kSha512},
};

std::vector<std::string> word_list(std::optional<std::string_view> v) {
  std::vector<std::string> out;
  if (v) {
    for (auto w : words(*v)) out.emplace_back(w);
  }
  return out;
}

std::string_view next_line(std::string_view& text) {
  size_t nl = text.find('\n');
  std::string_view line = text.substr(0, nl);
  text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

Result<Release> parse_release(std::string_view text, const std::string& name) {
  Release rel;
  int stanzas = 0;
  Status inner;
  Deb822Parser parser(name, [&](const Stanza& s) -> Status {
    if (++stanzas > 1) return ok_status();  // only the first paragraph is the Release
    rel.origin = std::string(s.get("Origin").value_or(""));
    rel.suite = std::string(s.get("Suite").value_or(""));
    rel.codename = std::string(s.get("Codename").value_or(""));
    rel.date = std::string(s.get("Date").value_or(""));
    rel.valid_until = std::string(s.get("Valid-Until").value_or(""));
    rel.architectures = word_list(s.get("Architectures"));
    rel.components = word_list(s.get("Components"));
    auto by_hash = s.get("Acquire-By-Hash");
    rel.acquire_by_hash = by_hash && (*by_hash == "yes" || *by_hash == "true");
    std::unordered_map<std::string, size_t> index;
    bool any = false;
    for (const auto& [section, algo] : kSections) {
      auto v = s.get(section);
      if (!v) continue;
      any = true;
      for (auto line : value_lines(*v)) {
        auto w = words(line);
        if (w.size() != 3) {
          return make_error(ErrorCode::kParse, name + ": " + section + ": malformed line '" +
                                                   std::string(line) + "'");
        }
        uint64_t size = 0;
        auto [p, ec] = std::from_chars(w[1].data(), w[1].data() + w[1].size(), size);
        if (ec != std::errc() || p != w[1].data() + w[1].size()) {
          return make_error(ErrorCode::kParse, name + ": " + section + ": bad size for " +
                                                   std::string(w[2]));
        }
        auto hex = normalize_hex_digest(algo, w[0]);
        if (!hex.ok()) {
          return make_error(ErrorCode::kParse, name + ": " + section + ": " + hex.error().message);
        }
        std::string path(w[2]);
        auto [it, fresh] = index.try_emplace(path, rel.files.size());
        if (fresh) rel.files.push_back({path, size, {}});
        ReleaseFile& f = rel.files[it->second];
        if (f.size != size) {
          return make_error(ErrorCode::kParse,
                            name + ": " + path + " is listed with two different sizes");
        }
        f.digests.get(algo) = std::move(hex).value();
      }
    }
    if (!any) return make_error(ErrorCode::kParse, name + ": no checksum list (SHA256, ...)");
    return ok_status();
  });
  DEPOT_TRY(parser.feed(text));
  DEPOT_TRY(parser.finish());
  if (stanzas == 0) return make_error(ErrorCode::kParse, name + ": empty Release file");
  return rel;
}

Result<std::string> clearsigned_text(std::string_view text, const std::string& name) {
  auto bad = [&](const std::string& why) {
    return make_error(ErrorCode::kSignature, name + ": not a clearsigned document: " + why);
  };
  if (next_line(text) != "-----BEGIN PGP SIGNED MESSAGE-----") return bad("no armor header");
  // Armor headers ("Hash: SHA512") up to the first empty line.
  for (;;) {
    if (text.empty()) return bad("no signed text");
    std::string_view line = next_line(text);
    if (line.empty()) break;
    if (line.find(": ") == std::string_view::npos) return bad("malformed armor header");
  }
  std::string out;
  bool signature = false;
  while (!text.empty()) {
    std::string_view line = next_line(text);
    if (line == "-----BEGIN PGP SIGNATURE-----") {
      signature = true;
      break;
    }
    if (line.starts_with("- ")) {
      line.remove_prefix(2);
    } else if (line.starts_with("-")) {
      return bad("unescaped dash line");
    }
    out.append(line);
    out.push_back('\n');
  }
  if (!signature) return bad("no signature block");
  bool ended = false;
  while (!text.empty()) {
    std::string_view line = next_line(text);
    if (ended) {
      if (!line.empty()) return bad("text after the signature");
    } else if (line == "-----END PGP SIGNATURE-----") {
      ended = true;
    }
  }
  if (!ended) return bad("unterminated signature block");
  return out;
}

namespace {

bool listed(const std::vector<std::string>& list, std::string_view v) {
  return list.empty() || std::find(list.begin(), list.end(), v) != list.end();
}

// Strips a compression suffix apt knows: "Packages.xz" -> "Packages".
std::string_view base_name(std::string_view name) {
  for (std::string_view ext : {".gz", ".xz", ".bz2", ".zst", ".lz4", ".lzma"}) {
    if (name.ends_with(ext)) return name.substr(0, name.size() - ext.size());
  }
  return name;
}

bool contents_for(std::string_view name, const Selection& sel) {
  // Contents-<arch>, Contents-udeb-<arch>, Contents-source (compressed or not).
  std::string_view b = base_name(name);
  if (!b.starts_with("Contents-")) return false;
  b.remove_prefix(9);
  if (b.starts_with("udeb-")) b.remove_prefix(5);
  return sel.contents && (listed(sel.archs, b) || (b == "all" && !sel.archs.empty()));
}

}  // namespace

IndexKind classify_index(std::string_view path, const Selection& sel) {
  if (path.find("/by-hash/") != std::string_view::npos) return IndexKind::kSkip;
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) {
    return contents_for(path, sel) ? IndexKind::kOther : IndexKind::kSkip;
  }
  // The component is everything before the first known subdirectory (components may hold '/').
  std::string_view comp, rest;
  for (std::string_view marker : {"/binary-", "/source/", "/i18n/", "/dep11/", "/cnf/"}) {
    size_t at = path.find(marker);
    if (at != std::string_view::npos) {
      comp = path.substr(0, at);
      rest = path.substr(at + 1);
      break;
    }
  }
  if (comp.empty()) {  // <component>/Contents-<arch>
    comp = path.substr(0, slash);
    rest = path.substr(slash + 1);
    if (!listed(sel.components, comp)) return IndexKind::kSkip;
    return contents_for(rest, sel) ? IndexKind::kOther : IndexKind::kSkip;
  }
  if (!listed(sel.components, comp)) return IndexKind::kSkip;
  if (rest.starts_with("binary-")) {
    size_t s2 = rest.find('/');
    if (s2 == std::string_view::npos) return IndexKind::kSkip;
    std::string_view arch = rest.substr(7, s2 - 7);
    std::string_view file = rest.substr(s2 + 1);
    if (arch == "source" || !listed(sel.archs, arch) || file.find('/') != std::string_view::npos) {
      return IndexKind::kSkip;
    }
    return base_name(file) == "Packages" ? IndexKind::kPackages : IndexKind::kOther;
  }
  if (rest.starts_with("source/")) {
    std::string_view file = rest.substr(7);
    bool want = std::find(sel.archs.begin(), sel.archs.end(), "source") != sel.archs.end() ||
                sel.archs.empty();
    if (!want || file.find('/') != std::string_view::npos) return IndexKind::kSkip;
    return base_name(file) == "Sources" ? IndexKind::kSources : IndexKind::kOther;
  }
  if (rest.starts_with("i18n/")) return IndexKind::kOther;
  std::string_view file = rest.substr(rest.find('/') + 1);
  if (rest.starts_with("dep11/")) {
    // Components-<arch>.yml.*, icons-*.tar.*, CID-Index-<arch>.json.*
    for (std::string_view prefix : {"Components-", "CID-Index-"}) {
      if (file.starts_with(prefix)) {
        std::string_view arch = file.substr(prefix.size());
        arch = arch.substr(0, arch.find('.'));
        return listed(sel.archs, arch) ? IndexKind::kOther : IndexKind::kSkip;
      }
    }
    return file.starts_with("icons-") ? IndexKind::kOther : IndexKind::kSkip;
  }
  if (rest.starts_with("cnf/") && file.starts_with("Commands-")) {
    std::string_view arch = base_name(file.substr(9));
    return listed(sel.archs, arch) ? IndexKind::kOther : IndexKind::kSkip;
  }
  return IndexKind::kSkip;
}

std::optional<int64_t> parse_release_date(std::string_view date) {
  std::string text(date);
  std::tm tm{};
  const char* end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S", &tm);
  if (!end) return std::nullopt;
  int64_t t = static_cast<int64_t>(::timegm(&tm));
  std::string_view zone(end);
  while (!zone.empty() && zone.front() == ' ') zone.remove_prefix(1);
  if (zone.size() == 5 && (zone[0] == '+' || zone[0] == '-')) {
    int hh = 0, mm = 0;
    auto digits = zone.substr(1);
    if (digits.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
    hh = (digits[0] - '0') * 10 + (digits[1] - '0');
    mm = (digits[2] - '0') * 10 + (digits[3] - '0');
    int64_t off = (hh * 60 + mm) * 60;
    t += zone[0] == '+' ? -off : off;
  } else if (!zone.empty() && zone != "UTC" && zone != "GMT" && zone != "Z") {
    return std::nullopt;
  }
  return t;
}

}  // namespace depot::apt

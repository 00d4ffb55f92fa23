#include "sources/npm/packument.h"

#include <openssl/evp.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/rel_path.h"
#include "transfer/http_util.h"

namespace depot::npm {

using Json = nlohmann::json;

namespace {

constexpr size_t kMaxNamePart = 214;

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool valid_name_part(std::string_view s) {
  if (s.empty() || s.size() > kMaxNamePart || s[0] == '.' || s[0] == '_') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return is_alnum(c) || c == '.' || c == '_' || c == '~' || c == '-';
  });
}

// Numeric identifiers compare by length, then text (no overflow on long digit runs).
int compare_numeric(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  return a.compare(b) < 0 ? -1 : (a == b ? 0 : 1);
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_digit);
}

struct Semver {
  std::string_view core[3];
  std::string_view pre;  // "" when none
};

std::optional<Semver> parse_semver(std::string_view v) {
  if (size_t plus = v.find('+'); plus != std::string_view::npos) v = v.substr(0, plus);
  Semver s;
  if (size_t dash = v.find('-'); dash != std::string_view::npos) {
    s.pre = v.substr(dash + 1);
    if (s.pre.empty()) return std::nullopt;
    v = v.substr(0, dash);
  }
  for (int i = 0; i < 3; ++i) {
    size_t dot = i < 2 ? v.find('.') : v.size();
    if (dot == std::string_view::npos) return std::nullopt;
    s.core[i] = v.substr(0, dot);
    if (!all_digits(s.core[i])) return std::nullopt;
    v = i < 2 ? v.substr(dot + 1) : std::string_view();
  }
  return s;
}

int compare_prerelease(std::string_view a, std::string_view b) {
  if (a.empty() || b.empty()) return a.empty() == b.empty() ? 0 : (a.empty() ? 1 : -1);
  while (true) {
    size_t da = a.find('.'), db = b.find('.');
    std::string_view ia = a.substr(0, da), ib = b.substr(0, db);
    bool na = all_digits(ia), nb = all_digits(ib);
    int c = na && nb ? compare_numeric(ia, ib) : (na != nb ? (na ? -1 : 1) : ia.compare(ib));
    if (c != 0) return c < 0 ? -1 : 1;
    bool ea = da == std::string_view::npos, eb = db == std::string_view::npos;
    if (ea || eb) return ea == eb ? 0 : (ea ? -1 : 1);
    a = a.substr(da + 1);
    b = b.substr(db + 1);
  }
}

std::optional<std::string> base64_hex(std::string_view b64) {
  if (b64.empty() || b64.size() % 4 != 0 || b64.size() > 512) return std::nullopt;
  std::string raw(b64.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(raw.data()),
                          reinterpret_cast<const unsigned char*>(b64.data()),
                          static_cast<int>(b64.size()));
  if (n < 0) return std::nullopt;
  size_t pad = b64.ends_with("==") ? 2 : (b64.ends_with('=') ? 1 : 0);
  raw.resize(static_cast<size_t>(n) - pad);
  return to_hex(std::span(reinterpret_cast<const unsigned char*>(raw.data()), raw.size()));
}

const Json* find_member(const Json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

std::string string_member(const Json& obj, const char* key) {
  const Json* v = find_member(obj, key);
  return v && v->is_string() ? v->get<std::string>() : std::string();
}

// The registry package a dependency spec names, or "" for file:, git, URL and other specs.
std::string dependency_package(const std::string& key, const Json& spec) {
  if (!spec.is_string()) return "";
  std::string_view s = spec.get_ref<const std::string&>();
  if (s.starts_with("npm:")) {
    std::string_view rest = s.substr(4);
    size_t at = rest.rfind('@');
    std::string_view name = at == std::string_view::npos || at == 0 ? rest : rest.substr(0, at);
    return valid_package_name(name) ? std::string(name) : "";
  }
  if (s.find(':') != std::string_view::npos || s.find('/') != std::string_view::npos) return "";
  return valid_package_name(key) ? key : "";
}

Result<Tarball> parse_dist(const Json& version, const std::string& at) {
  const Json* dist = find_member(version, "dist");
  if (!dist || !dist->is_object()) return make_error(ErrorCode::kParse, at + ": no dist object");
  Tarball t;
  t.url = string_member(*dist, "tarball");
  if (!is_http_url(t.url)) {
    return make_error(ErrorCode::kParse,
                      at + ": dist.tarball is not an http(s) URL: " + quote_untrusted(t.url));
  }
  std::string_view path = std::string_view(t.url).substr(0, t.url.find_first_of("?#"));
  t.file = std::string(path.substr(path.rfind('/') + 1));
  if (!valid_tarball_file(t.file)) {
    return make_error(ErrorCode::kUnsafePath,
                      at + ": refusing tarball file name " + quote_untrusted(t.file));
  }
  std::string integrity = string_member(*dist, "integrity");
  if (!integrity.empty()) {
    auto d = parse_integrity(integrity);
    if (!d.ok()) return make_error(ErrorCode::kParse, at + ": " + d.error().message);
    t.digests = *d;
  }
  std::string shasum = string_member(*dist, "shasum");
  if (!shasum.empty()) {
    auto hex = normalize_hex_digest(DigestAlgo::kSha1, shasum);
    if (!hex.ok()) return make_error(ErrorCode::kParse, at + ": bad dist.shasum");
    if (!t.digests.sha1.empty() && t.digests.sha1 != *hex) {
      return make_error(ErrorCode::kParse, at + ": dist.shasum and dist.integrity disagree");
    }
    t.digests.sha1 = *hex;
  }
  if (t.digests.sha512.empty() && t.digests.sha1.empty()) {
    return make_error(ErrorCode::kParse, at + ": neither a sha512 integrity nor a shasum");
  }
  return t;
}

Result<VersionInfo> parse_version(const std::string& key, const Json& v, const std::string& at) {
  if (!valid_version(key) || string_member(v, "version") != key) {
    return make_error(ErrorCode::kUnsafePath, at + ": bad version " + quote_untrusted(key));
  }
  VersionInfo info;
  info.version = key;
  DEPOT_ASSIGN_OR_RETURN(info.tarball, parse_dist(v, at));
  for (const char* field : {"dependencies", "optionalDependencies", "peerDependencies"}) {
    const Json* deps = find_member(v, field);
    if (!deps || !deps->is_object()) continue;
    for (const auto& [dep, spec] : deps->items()) {
      std::string pkg = dependency_package(dep, spec);
      if (!pkg.empty()) info.deps.push_back(std::move(pkg));
    }
  }
  const Json* dep = find_member(v, "deprecated");
  info.deprecated = dep && ((dep->is_string() && !dep->get_ref<const std::string&>().empty()) ||
                            (dep->is_boolean() && dep->get<bool>()));
  return info;
}

constexpr const char* kAbbreviatedVersionFields[] = {"name",
                                                     "version",
                                                     "deprecated",
                                                     "dependencies",
                                                     "devDependencies",
                                                     "optionalDependencies",
                                                     "peerDependencies",
                                                     "peerDependenciesMeta",
                                                     "bundleDependencies",
                                                     "bundledDependencies",
                                                     "acceptDependencies",
                                                     "bin",
                                                     "directories",
                                                     "dist",
                                                     "engines",
                                                     "_hasShrinkwrap",
                                                     "hasInstallScript",
                                                     "cpu",
                                                     "os",
                                                     "libc",
                                                     "funding",
                                                     "license"};

}  // namespace

bool valid_tarball_file(std::string_view f) {
  if (f.size() < 5 || f.size() > 255 || f[0] == '.' || !f.ends_with(".tgz")) return false;
  return std::all_of(f.begin(), f.end(), [](char c) {
    return is_alnum(c) || c == '.' || c == '_' || c == '~' || c == '-' || c == '+';
  });
}

bool valid_package_name(std::string_view name) {
  if (name.starts_with('@')) {
    size_t slash = name.find('/');
    if (slash == std::string_view::npos) return false;
    return valid_name_part(name.substr(1, slash - 1)) && valid_name_part(name.substr(slash + 1));
  }
  return valid_name_part(name);
}

bool valid_version(std::string_view v) {
  if (v.empty() || v.size() > 256 || !is_digit(v[0])) return false;
  return std::all_of(v.begin(), v.end(),
                     [](char c) { return is_alnum(c) || c == '.' || c == '+' || c == '-'; });
}

int compare_semver(std::string_view a, std::string_view b) {
  auto sa = parse_semver(a), sb = parse_semver(b);
  if (!sa || !sb) {
    if (sa.has_value() != sb.has_value()) return sa ? 1 : -1;
    return a.compare(b) < 0 ? -1 : (a == b ? 0 : 1);
  }
  for (int i = 0; i < 3; ++i) {
    if (int c = compare_numeric(sa->core[i], sb->core[i]); c != 0) return c;
  }
  return compare_prerelease(sa->pre, sb->pre);
}

std::string packument_url_path(std::string_view name) {
  std::string out(name);
  if (size_t slash = out.find('/'); name.starts_with('@') && slash != std::string::npos) {
    out.replace(slash, 1, "%2f");
  }
  return out;
}

Result<Digests> parse_integrity(std::string_view sri) {
  Digests d;
  while (!sri.empty()) {
    size_t sp = sri.find_first_of(" \t\n");
    std::string_view item = sri.substr(0, sp);
    sri = sp == std::string_view::npos ? std::string_view() : sri.substr(sp + 1);
    if (size_t q = item.find('?'); q != std::string_view::npos) item = item.substr(0, q);
    DigestAlgo algo;
    if (item.starts_with("sha512-")) {
      algo = DigestAlgo::kSha512;
    } else if (item.starts_with("sha1-")) {
      algo = DigestAlgo::kSha1;
    } else {
      continue;
    }
    auto hex = base64_hex(item.substr(item.find('-') + 1));
    size_t want = algo == DigestAlgo::kSha512 ? 128 : 40;
    if (!hex || hex->size() != want) {
      return make_error(ErrorCode::kParse, "bad integrity " + quote_untrusted(item));
    }
    d.get(algo) = *hex;
  }
  return d;
}

struct Packument::Impl {
  Json doc;
  std::string name;
  std::vector<VersionInfo> versions;
};

Packument::Packument(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Packument::Packument(Packument&&) noexcept = default;
Packument& Packument::operator=(Packument&&) noexcept = default;
Packument::~Packument() = default;

Result<Packument> Packument::parse(std::string_view json, std::string_view name,
                                   const std::string& where) {
  auto impl = std::make_unique<Impl>();
  impl->doc = Json::parse(json, nullptr, /*allow_exceptions=*/false);
  const Json& doc = impl->doc;
  if (doc.is_discarded() || !doc.is_object()) {
    return make_error(ErrorCode::kParse, where + ": not a JSON object");
  }
  impl->name = string_member(doc, "name");
  if (!valid_package_name(name) || impl->name != name) {
    return make_error(ErrorCode::kParse, where + ": name " + quote_untrusted(impl->name) +
                                             " is not package " + quote_untrusted(name));
  }
  const Json* versions = find_member(doc, "versions");
  if (versions && !versions->is_object()) {
    return make_error(ErrorCode::kParse, where + ": \"versions\" is not an object");
  }
  if (versions) {
    for (const auto& [key, v] : versions->items()) {
      std::string at = where + ": version " + quote_untrusted(key);
      if (!v.is_object()) return make_error(ErrorCode::kParse, at + ": not an object");
      DEPOT_ASSIGN_OR_RETURN(VersionInfo info, parse_version(key, v, at));
      impl->versions.push_back(std::move(info));
    }
  }
  std::sort(impl->versions.begin(), impl->versions.end(),
            [](const auto& a, const auto& b) { return compare_semver(a.version, b.version) < 0; });
  return Packument(std::move(impl));
}

const std::string& Packument::name() const { return impl_->name; }
const std::vector<VersionInfo>& Packument::versions() const { return impl_->versions; }

std::set<std::string> Packument::tagged_versions() const {
  std::set<std::string> listed, out;
  for (const auto& v : impl_->versions) listed.insert(v.version);
  const Json* tags = find_member(impl_->doc, "dist-tags");
  if (!tags || !tags->is_object()) return out;
  for (const auto& [tag, v] : tags->items()) {
    if (v.is_string() && listed.count(v.get<std::string>())) out.insert(v.get<std::string>());
  }
  return out;
}

void Packument::keep_versions(const std::set<std::string>& keep) {
  Json& doc = impl_->doc;
  std::erase_if(impl_->versions, [&](const VersionInfo& v) { return !keep.count(v.version); });
  auto drop = [&](const char* field, bool by_value) {
    auto it = doc.find(field);
    if (it == doc.end() || !it->is_object()) return;
    for (auto e = it->begin(); e != it->end();) {
      bool named = by_value ? e->is_string() && !keep.count(e->get<std::string>())
                            : !keep.count(e.key()) && e.key() != "created" && e.key() != "modified";
      e = named ? it->erase(e) : std::next(e);
    }
  };
  drop("versions", false);
  drop("time", false);
  drop("dist-tags", true);
}

void Packument::rewrite_tarballs(const TarballUrlFn& url_for) {
  if (impl_->versions.empty()) return;
  Json& versions = impl_->doc["versions"];
  for (const VersionInfo& v : impl_->versions) {
    versions[v.version]["dist"]["tarball"] = url_for(v.version, v.tarball);
  }
}

std::string Packument::full_json() const {
  return impl_->doc.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string Packument::abbreviated_json() const {
  const Json& doc = impl_->doc;
  Json out = Json::object();
  out["name"] = impl_->name;
  if (const Json* time = find_member(doc, "time")) {
    if (const Json* modified = find_member(*time, "modified"); modified && modified->is_string()) {
      out["modified"] = *modified;
    }
  }
  const Json* tags = find_member(doc, "dist-tags");
  out["dist-tags"] = tags && tags->is_object() ? *tags : Json::object();
  Json& versions = out["versions"] = Json::object();
  const Json* full = find_member(doc, "versions");
  for (const VersionInfo& v : impl_->versions) {
    const Json& src = (*full)[v.version];
    Json& dst = versions[v.version] = Json::object();
    for (const char* field : kAbbreviatedVersionFields) {
      if (const Json* f = find_member(src, field)) dst[field] = *f;
    }
  }
  return out.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::set<std::string> latest_versions(const Packument& p, size_t n) {
  std::set<std::string> keep = p.tagged_versions();
  const auto& versions = p.versions();  // semver order
  for (size_t i = versions.size(); i > 0 && versions.size() - i < n; --i) {
    keep.insert(versions[i - 1].version);
  }
  return keep;
}

}  // namespace depot::npm

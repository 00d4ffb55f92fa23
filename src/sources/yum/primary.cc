#include "sources/yum/primary.h"

#include <optional>
#include <vector>

#include "sources/yum/repomd.h"
#include "sources/yum/xml_stream.h"

namespace depot::yum {
namespace {

constexpr size_t kMaxText = 1024;  // name and checksum values; bounds memory on hostile input

bool has_scheme(std::string_view s) {
  size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  for (size_t i = 0; i < colon; ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
    if (!ok) return false;
  }
  return true;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

}  // namespace

struct PrimaryParser::Impl final : XmlHandler {
  Impl(std::string name, Sink sink) : sink(std::move(sink)), stream(std::move(name), *this) {}

  Sink sink;
  XmlStream stream;
  size_t depth = 0;
  std::optional<uint64_t> declared;  // <metadata packages="N">
  uint64_t seen = 0;
  bool in_package = false;
  uint64_t package_line = 0;
  std::string buf;  // text of <name> / <checksum>
  bool collect = false;
  // The package being read.
  std::string name, href, base;
  std::optional<uint64_t> size;
  Digests digests;
  std::optional<DigestAlgo> algo;

  std::string where() const {
    std::string w = stream.name() + ": package ";
    w += name.empty() ? "at line " + std::to_string(package_line) : quote_untrusted(name);
    return w;
  }
  Error parse_error(const std::string& what) const {
    return make_error(ErrorCode::kParse, where() + ": " + what);
  }

  Status start(std::string_view el, const char** attrs) override {
    ++depth;
    if (depth == 1) {
      if (el != "metadata") {
        return make_error(ErrorCode::kParse, stream.name() + ": root element is <" +
                                                 std::string(el) + ">, not <metadata>");
      }
      if (const char* n = xml_attr(attrs, "packages")) {
        declared = parse_u64(n);
        if (!declared) {
          return make_error(ErrorCode::kParse,
                            stream.name() + ": bad metadata@packages " + quote_untrusted(n));
        }
      }
      return ok_status();
    }
    if (depth == 2 && el == "package") {
      in_package = true;
      package_line = stream.line();
      name.clear();
      href.clear();
      base.clear();
      size.reset();
      digests = {};
      return ok_status();
    }
    if (!in_package || depth != 3) return ok_status();
    if (el == "name" || el == "checksum") {
      collect = true;
      buf.clear();
    }
    if (el == "location") {
      const char* h = xml_attr(attrs, "href");
      if (!h || !*h) return parse_error("location without href");
      href = h;
      if (const char* b = xml_attr(attrs, "xml:base")) base = b;
    } else if (el == "size") {
      const char* p = xml_attr(attrs, "package");
      if (!p) return parse_error("size without package attribute");
      size = parse_u64(p);
      if (!size) return parse_error("bad size@package " + quote_untrusted(p));
    } else if (el == "checksum") {
      const char* t = xml_attr(attrs, "type");
      if (!t) return parse_error("checksum without type");
      algo = checksum_algo(t);
      if (!algo) return parse_error("unsupported checksum type " + quote_untrusted(t));
    }
    return ok_status();
  }

  void text(std::string_view t) override {
    if (collect && buf.size() + t.size() <= kMaxText) buf += t;
  }

  Status end(std::string_view el) override {
    size_t d = depth--;
    if (!in_package) return ok_status();
    if (d == 3 && collect) {
      collect = false;
      if (el == "name") {
        name = trim(buf);
      } else if (el == "checksum") {
        auto hex = normalize_hex_digest(*algo, trim(buf));
        if (!hex.ok()) return parse_error(hex.error().message);
        std::string& slot = digests.get(*algo);
        if (!slot.empty() && slot != *hex) return parse_error("two different checksums");
        slot = std::move(hex).value();
      }
      return ok_status();
    }
    if (d == 2 && el == "package") {
      in_package = false;
      ++seen;
      return emit();
    }
    return ok_status();
  }

  Status emit() {
    if (href.empty()) return parse_error("no location");
    if (!size) return parse_error("no size");
    if (digests.empty()) return parse_error("no checksum");
    if (has_scheme(href)) return refuse("location is a URL");
    auto rel = RelPath::parse(href);
    if (!rel.ok()) return refuse(rel.error().message);
    if (rel->str() == "repodata" || rel->str().starts_with("repodata/")) {
      return refuse("a package may not live under repodata/");
    }
    if (!base.empty()) {
      // The published primary would still send clients to that host, and depot would fetch
      // from wherever upstream points.
      return make_error(ErrorCode::kUnsafePath, where() + ": refusing xml:base " +
                                                    quote_untrusted(base) +
                                                    " (packages must live in the repository)");
    }
    return sink(Package{.name = std::move(name),
                        .path = std::move(rel).value(),
                        .base = std::move(base),
                        .size = *size,
                        .digests = std::move(digests)});
  }

  Status refuse(const std::string& why) const {
    return make_error(ErrorCode::kUnsafePath,
                      where() + ": refusing location " + quote_untrusted(href) + ": " + why);
  }
};

PrimaryParser::PrimaryParser(std::string name, Sink sink)
    : impl_(std::make_unique<Impl>(std::move(name), std::move(sink))) {}
PrimaryParser::~PrimaryParser() = default;

Status PrimaryParser::feed(std::string_view bytes) { return impl_->stream.feed(bytes); }

Status PrimaryParser::finish() {
  DEPOT_TRY(impl_->stream.finish());
  if (impl_->declared && *impl_->declared != impl_->seen) {
    return make_error(ErrorCode::kParse, impl_->stream.name() + ": declares " +
                                             std::to_string(*impl_->declared) +
                                             " packages, lists " + std::to_string(impl_->seen));
  }
  return ok_status();
}

uint64_t PrimaryParser::packages() const { return impl_->seen; }

}  // namespace depot::yum

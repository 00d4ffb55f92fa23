#include "sources/yum/repomd.h"

#include "core/rel_path.h"
#include "sources/yum/xml_stream.h"

namespace depot::yum {
namespace {

constexpr size_t kMaxText = 4096;  // no repomd value is longer; bounds memory on hostile input

class RepomdHandler final : public XmlHandler {
 public:
  RepomdHandler(const std::string& name, Repomd& out) : name_(name), out_(out) {}
  XmlStream* stream = nullptr;

  Status start(std::string_view el, const char** attrs) override {
    path_.emplace_back(el);
    text_.clear();
    if (path_.size() == 1 && el != "repomd") {
      return make_error(ErrorCode::kParse,
                        at() + ": root element is <" + std::string(el) + ">, not <repomd>");
    }
    if (path_.size() == 2 && el == "data") {
      in_data_ = true;
      cur_ = RepomdData{};
      const char* type = xml_attr(attrs, "type");
      if (!type || !*type) return make_error(ErrorCode::kParse, at() + ": <data> without a type");
      cur_.type = type;
      return ok_status();
    }
    if (!in_data_ || path_.size() != 3) return ok_status();
    if (el == "location") {
      if (xml_attr(attrs, "xml:base")) {
        return make_error(ErrorCode::kParse,
                          at() + ": " + cur_.type + ": location with xml:base is not supported");
      }
      const char* href = xml_attr(attrs, "href");
      if (!href || !*href)
        return make_error(ErrorCode::kParse, at() + ": " + cur_.type + ": no location@href");
      cur_.href = href;
    } else if (el == "checksum" || el == "open-checksum") {
      const char* type = xml_attr(attrs, "type");
      auto algo = type ? checksum_algo(type) : std::nullopt;
      if (!algo) {
        return make_error(ErrorCode::kParse, at() + ": " + cur_.type + ": unsupported " +
                                                 std::string(el) + " type " +
                                                 quote_untrusted(type ? type : ""));
      }
      algo_ = *algo;
    }
    return ok_status();
  }

  void text(std::string_view t) override {
    if (text_.size() + t.size() <= kMaxText) text_ += t;
  }

  Status end(std::string_view el) override {
    std::string value = trim(text_);
    text_.clear();
    size_t depth = path_.size();
    path_.pop_back();
    if (depth == 2 && el == "revision") out_.revision = value;
    if (!in_data_) return ok_status();
    if (depth == 2 && el == "data") {
      in_data_ = false;
      if (cur_.href.empty())
        return make_error(ErrorCode::kParse, at() + ": " + cur_.type + ": no location");
      if (cur_.checksum.empty()) {
        return make_error(ErrorCode::kParse, at() + ": " + cur_.type + ": no checksum");
      }
      out_.data.push_back(std::move(cur_));
      return ok_status();
    }
    if (depth != 3) return ok_status();
    if (el == "checksum" || el == "open-checksum") {
      auto hex = normalize_hex_digest(algo_, value);
      if (!hex.ok())
        return make_error(ErrorCode::kParse, at() + ": " + cur_.type + ": " + hex.error().message);
      (el == "checksum" ? cur_.checksum : cur_.open_checksum).get(algo_) = std::move(hex).value();
    } else if (el == "size" || el == "open-size") {
      auto n = parse_u64(value);
      if (!n)
        return make_error(ErrorCode::kParse, at() + ": " + cur_.type + ": bad " + std::string(el));
      (el == "size" ? cur_.size : cur_.open_size) = n;
    }
    return ok_status();
  }

 private:
  static std::string trim(const std::string& s) {
    size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return {};
    return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
  }
  std::string at() const { return name_ + ": line " + std::to_string(stream ? stream->line() : 0); }

  const std::string& name_;
  Repomd& out_;
  std::vector<std::string> path_;
  std::string text_;
  bool in_data_ = false;
  RepomdData cur_;
  DigestAlgo algo_ = DigestAlgo::kSha256;
};

}  // namespace

const RepomdData* Repomd::find(std::string_view type) const {
  for (const auto& d : data) {
    if (d.type == type) return &d;
  }
  return nullptr;
}

Result<Repomd> parse_repomd(std::string_view xml, const std::string& name) {
  Repomd out;
  RepomdHandler handler(name, out);
  XmlStream stream(name, handler);
  handler.stream = &stream;
  DEPOT_TRY(stream.feed(xml));
  DEPOT_TRY(stream.finish());
  return out;
}

std::optional<DigestAlgo> checksum_algo(std::string_view type) {
  if (type == "sha256") return DigestAlgo::kSha256;
  if (type == "sha512") return DigestAlgo::kSha512;
  if (type == "sha1" || type == "sha") return DigestAlgo::kSha1;
  if (type == "md5") return DigestAlgo::kMd5;
  return std::nullopt;
}

}  // namespace depot::yum

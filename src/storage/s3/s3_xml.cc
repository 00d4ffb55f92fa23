#include "storage/s3/s3_xml.h"

#include <expat.h>

#include <ctime>
#include <memory>
#include <optional>

#include "core/rel_path.h"
#include "core/text.h"
#include "storage/s3/s3_url.h"

namespace depot {
namespace {

constexpr int kMaxDepth = 16;
constexpr size_t kMaxNodes = 200000;

// A small element tree: S3 answers are one page, read whole.
struct XmlNode {
  std::string name;  // local name (no namespace prefix)
  std::string text;  // character data directly inside this element
  std::vector<std::unique_ptr<XmlNode>> children;

  const XmlNode* child(std::string_view n) const {
    for (const auto& c : children) {
      if (c->name == n) return c.get();
    }
    return nullptr;
  }
  std::string child_text(std::string_view n) const {
    const XmlNode* c = child(n);
    return c ? c->text : std::string();
  }
};

struct TreeBuilder {
  XML_Parser parser = nullptr;
  XmlNode root;  // a holder; the document element is its only child
  std::vector<XmlNode*> stack{&root};
  size_t nodes = 0;
  std::string error;

  void stop(std::string why) {
    if (error.empty()) error = std::move(why);
    XML_StopParser(parser, XML_FALSE);
  }
};

std::string local_name(const char* name) {
  std::string_view n(name);
  size_t colon = n.find(':');
  return std::string(colon == std::string_view::npos ? n : n.substr(colon + 1));
}

void on_start(void* user, const XML_Char* name, const XML_Char**) {
  auto* b = static_cast<TreeBuilder*>(user);
  if (!b->error.empty()) return;
  if (b->stack.size() > kMaxDepth) return b->stop("elements nested too deep");
  if (++b->nodes > kMaxNodes) return b->stop("too many elements");
  auto node = std::make_unique<XmlNode>();
  node->name = local_name(name);
  XmlNode* raw = node.get();
  b->stack.back()->children.push_back(std::move(node));
  b->stack.push_back(raw);
}

void on_end(void* user, const XML_Char*) {
  auto* b = static_cast<TreeBuilder*>(user);
  if (b->error.empty() && b->stack.size() > 1) b->stack.pop_back();
}

void on_text(void* user, const XML_Char* text, int len) {
  auto* b = static_cast<TreeBuilder*>(user);
  b->stack.back()->text.append(text, static_cast<size_t>(len));
}

void on_doctype(void* user, const XML_Char*, const XML_Char*, const XML_Char*, int) {
  static_cast<TreeBuilder*>(user)->stop("DOCTYPE declarations refused");
}

void on_entity(void* user, const XML_Char*, int, const XML_Char*, int, const XML_Char*,
               const XML_Char*, const XML_Char*, const XML_Char*) {
  static_cast<TreeBuilder*>(user)->stop("entity declarations refused");
}

Error parse_error(std::string_view what, std::string_view doc, const std::string& why) {
  return make_error(ErrorCode::kParse,
                    std::string(what) + ": malformed S3 answer (" + std::string(doc) + "): " + why);
}

// Parses `body` into a tree whose document element must be named `root_name`.
Result<std::unique_ptr<XmlNode>> parse_tree(std::string_view body, std::string_view root_name,
                                            std::string_view what) {
  TreeBuilder b;
  b.parser = XML_ParserCreate(nullptr);
  if (!b.parser) return make_error(ErrorCode::kInternal, "expat: out of memory");
  XML_SetUserData(b.parser, &b);
  XML_SetElementHandler(b.parser, on_start, on_end);
  XML_SetCharacterDataHandler(b.parser, on_text);
  XML_SetStartDoctypeDeclHandler(b.parser, on_doctype);
  XML_SetEntityDeclHandler(b.parser, on_entity);
  XML_Status st = XML_STATUS_OK;
  for (size_t off = 0; st == XML_STATUS_OK && off < body.size();) {  // len is an int
    size_t n = std::min<size_t>(body.size() - off, 1 << 30);
    st = XML_Parse(b.parser, body.data() + off, static_cast<int>(n), XML_FALSE);
    off += n;
  }
  if (st == XML_STATUS_OK) st = XML_Parse(b.parser, "", 0, XML_TRUE);
  std::string why = b.error;
  if (st != XML_STATUS_OK && why.empty()) {
    why = std::string(XML_ErrorString(XML_GetErrorCode(b.parser))) + " at line " +
          std::to_string(XML_GetCurrentLineNumber(b.parser));
  }
  XML_ParserFree(b.parser);
  if (!why.empty()) return parse_error(what, root_name, why);
  if (b.root.children.size() != 1 || b.root.children[0]->name != root_name) {
    std::string got = b.root.children.empty() ? "nothing" : "<" + b.root.children[0]->name + ">";
    return parse_error(what, root_name,
                       "expected <" + std::string(root_name) + ">, got " + quote_untrusted(got));
  }
  return std::move(b.root.children[0]);
}

std::string unquote_etag(std::string_view etag) {
  etag = trim(etag, " \t\r\n");
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  return std::string(etag);
}

Result<bool> parse_bool(const XmlNode& n, std::string_view field, std::string_view what,
                        std::string_view doc) {
  std::string v = n.child_text(field);
  if (v.empty() || v == "false") return false;
  if (v == "true") return true;
  return parse_error(what, doc, std::string(field) + " is " + quote_untrusted(v));
}

// The decoded value of `field` when the answer declared encoding-type=url.
Result<std::string> maybe_decode(const XmlNode& n, std::string_view field, bool url_encoded,
                                 std::string_view what, std::string_view doc) {
  std::string v = n.child_text(field);
  if (!url_encoded) return v;
  auto decoded = s3_url_decode(v);
  if (!decoded.ok()) return parse_error(what, doc, decoded.error().message);
  return decoded;
}

Result<WallTime> parse_time(const XmlNode& n, std::string_view field, std::string_view what,
                            std::string_view doc) {
  std::string v = n.child_text(field);
  if (auto t = parse_iso8601(v)) return *t;
  return parse_error(what, doc, std::string(field) + " is " + quote_untrusted(v));
}

Result<S3ObjectInfo> parse_contents(const XmlNode& c, bool url_encoded, std::string_view what) {
  constexpr std::string_view doc = "ListBucketResult";
  S3ObjectInfo info;
  DEPOT_ASSIGN_OR_RETURN(info.key, maybe_decode(c, "Key", url_encoded, what, doc));
  if (info.key.empty()) return parse_error(what, doc, "a <Contents> without <Key>");
  auto size = parse_u64(c.child_text("Size"));
  if (!size) return parse_error(what, doc, "bad <Size> of " + quote_untrusted(info.key));
  info.size = *size;
  info.etag = unquote_etag(c.child_text("ETag"));
  DEPOT_ASSIGN_OR_RETURN(info.last_modified, parse_time(c, "LastModified", what, doc));
  return info;
}

Result<S3Upload> parse_upload(const XmlNode& u, bool url_encoded, std::string_view what) {
  constexpr std::string_view doc = "ListMultipartUploadsResult";
  S3Upload up;
  DEPOT_ASSIGN_OR_RETURN(up.key, maybe_decode(u, "Key", url_encoded, what, doc));
  up.upload_id = u.child_text("UploadId");
  if (up.key.empty() || up.upload_id.empty()) {
    return parse_error(what, doc, "an <Upload> without <Key> or <UploadId>");
  }
  DEPOT_ASSIGN_OR_RETURN(up.initiated, parse_time(u, "Initiated", what, doc));
  return up;
}

S3ErrorBody error_body(const XmlNode& e) {
  return S3ErrorBody{e.child_text("Code"), e.child_text("Message"), e.child_text("Region"),
                     e.child_text("BucketName")};
}

void append_escaped(std::string& out, std::string_view text) {
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
}

}  // namespace

Result<S3ErrorBody> parse_s3_error(std::string_view body) {
  DEPOT_ASSIGN_OR_RETURN(auto root, parse_tree(body, "Error", "S3 error answer"));
  return error_body(*root);
}

Result<S3ListPage> parse_list_objects_v2(std::string_view body, std::string_view what) {
  constexpr std::string_view doc = "ListBucketResult";
  DEPOT_ASSIGN_OR_RETURN(auto root, parse_tree(body, doc, what));
  bool url_encoded = root->child_text("EncodingType") == "url";
  S3ListPage page;
  for (const auto& c : root->children) {
    if (c->name != "Contents") continue;
    DEPOT_ASSIGN_OR_RETURN(S3ObjectInfo info, parse_contents(*c, url_encoded, what));
    page.objects.push_back(std::move(info));
  }
  DEPOT_ASSIGN_OR_RETURN(page.truncated, parse_bool(*root, "IsTruncated", what, doc));
  page.next_token = root->child_text("NextContinuationToken");
  if (page.truncated && page.next_token.empty()) {
    return parse_error(what, doc, "truncated without a NextContinuationToken");
  }
  return page;
}

Result<S3UploadsPage> parse_list_multipart_uploads(std::string_view body, std::string_view what) {
  constexpr std::string_view doc = "ListMultipartUploadsResult";
  DEPOT_ASSIGN_OR_RETURN(auto root, parse_tree(body, doc, what));
  bool url_encoded = root->child_text("EncodingType") == "url";
  S3UploadsPage page;
  for (const auto& u : root->children) {
    if (u->name != "Upload") continue;
    DEPOT_ASSIGN_OR_RETURN(S3Upload up, parse_upload(*u, url_encoded, what));
    page.uploads.push_back(std::move(up));
  }
  DEPOT_ASSIGN_OR_RETURN(page.truncated, parse_bool(*root, "IsTruncated", what, doc));
  DEPOT_ASSIGN_OR_RETURN(page.next_key_marker,
                         maybe_decode(*root, "NextKeyMarker", url_encoded, what, doc));
  page.next_upload_id_marker = root->child_text("NextUploadIdMarker");
  if (page.truncated && page.next_key_marker.empty() && page.next_upload_id_marker.empty()) {
    return parse_error(what, doc, "truncated without NextKeyMarker/NextUploadIdMarker");
  }
  return page;
}

Result<std::string> parse_initiate_multipart(std::string_view body, std::string_view what) {
  constexpr std::string_view doc = "InitiateMultipartUploadResult";
  DEPOT_ASSIGN_OR_RETURN(auto root, parse_tree(body, doc, what));
  std::string id = root->child_text("UploadId");
  if (id.empty()) return parse_error(what, doc, "no <UploadId>");
  return id;
}

Result<std::string> parse_complete_multipart(std::string_view body, std::string_view what,
                                             S3ErrorBody* error_out) {
  constexpr std::string_view doc = "CompleteMultipartUploadResult";
  if (auto err = parse_s3_error(body); err.ok()) {
    if (error_out) *error_out = err.value();
    return make_error(ErrorCode::kHttp, std::string(what) + ": CompleteMultipartUpload failed: " +
                                            err->code + " " + err->message);
  }
  DEPOT_ASSIGN_OR_RETURN(auto root, parse_tree(body, doc, what));
  return unquote_etag(root->child_text("ETag"));
}

Result<std::vector<S3DeleteFailure>> parse_delete_result(std::string_view body,
                                                         std::string_view what) {
  DEPOT_ASSIGN_OR_RETURN(auto root, parse_tree(body, "DeleteResult", what));
  std::vector<S3DeleteFailure> failures;
  for (const auto& e : root->children) {
    if (e->name == "Error") failures.push_back({e->child_text("Key"), error_body(*e)});
  }
  return failures;
}

std::string complete_multipart_xml(std::span<const S3Part> parts) {
  std::string out = "<CompleteMultipartUpload>";
  for (const S3Part& p : parts) {
    out += "<Part><PartNumber>" + std::to_string(p.number) + "</PartNumber><ETag>\"";
    append_escaped(out, p.etag);
    out += "\"</ETag></Part>";
  }
  out += "</CompleteMultipartUpload>";
  return out;
}

std::string delete_objects_xml(std::span<const std::string> keys) {
  std::string out = "<Delete><Quiet>true</Quiet>";
  for (const std::string& k : keys) {
    out += "<Object><Key>";
    append_escaped(out, k);
    out += "</Key></Object>";
  }
  out += "</Delete>";
  return out;
}

std::optional<WallTime> parse_iso8601(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fraction]Z
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
      text[16] != ':' || text.back() != 'Z') {
    return std::nullopt;
  }
  auto num = [&](size_t pos, size_t len) { return parse_u64(text.substr(pos, len)); };
  auto y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2),
       s = num(17, 2);
  // Years outside 1970..2200 are no object's date, and beyond ±292 years of 1970 the clock's
  // nanoseconds overflow.
  if (!y || !mo || !d || !h || !mi || !s || *y < 1970 || *y > 2200 || *mo < 1 || *mo > 12 ||
      *d < 1 || *d > 31 || *h > 23 || *mi > 59 || *s > 60) {
    return std::nullopt;
  }
  std::string_view frac = text.substr(19, text.size() - 20);
  int64_t millis = 0;
  if (!frac.empty()) {
    if (frac[0] != '.' || frac.size() < 2) return std::nullopt;
    auto f = parse_u64(frac.substr(1, std::min<size_t>(3, frac.size() - 1)));
    if (!f || !parse_u64(frac.substr(1))) return std::nullopt;
    millis = static_cast<int64_t>(*f);
    for (size_t digits = frac.size() - 1; digits < 3; ++digits) millis *= 10;
  }
  std::tm tm{};
  tm.tm_year = static_cast<int>(*y) - 1900;
  tm.tm_mon = static_cast<int>(*mo) - 1;
  tm.tm_mday = static_cast<int>(*d);
  tm.tm_hour = static_cast<int>(*h);
  tm.tm_min = static_cast<int>(*mi);
  tm.tm_sec = static_cast<int>(*s);
  std::time_t t = ::timegm(&tm);
  return std::chrono::system_clock::from_time_t(t) + std::chrono::milliseconds(millis);
}

}  // namespace depot

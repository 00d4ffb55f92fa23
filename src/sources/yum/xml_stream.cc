#include "sources/yum/xml_stream.h"

#include <expat.h>

#include <optional>

namespace depot::yum {

struct XmlStream::Impl {
  XML_Parser parser = nullptr;
  std::optional<Error> error;  // first handler error; parsing stops there
  bool finished = false;
};

namespace {

std::string_view local_name(const char* name) {
  std::string_view n(name);
  size_t colon = n.find(':');
  return colon == std::string_view::npos ? n : n.substr(colon + 1);
}

}  // namespace

XmlStream::XmlStream(std::string name, XmlHandler& handler)
    : name_(std::move(name)), handler_(handler), impl_(std::make_unique<Impl>()) {
  impl_->parser = XML_ParserCreate(nullptr);
  XML_SetUserData(impl_->parser, this);
  XML_SetElementHandler(
      impl_->parser,
      [](void* self, const XML_Char* n, const XML_Char** attrs) {
        auto* s = static_cast<XmlStream*>(self);
        if (s->impl_->error) return;
        Status st = s->handler_.start(local_name(n), attrs);
        if (!st.ok()) {
          s->impl_->error = st.error();
          XML_StopParser(s->impl_->parser, XML_FALSE);
        }
      },
      [](void* self, const XML_Char* n) {
        auto* s = static_cast<XmlStream*>(self);
        if (s->impl_->error) return;
        Status st = s->handler_.end(local_name(n));
        if (!st.ok()) {
          s->impl_->error = st.error();
          XML_StopParser(s->impl_->parser, XML_FALSE);
        }
      });
  XML_SetCharacterDataHandler(impl_->parser, [](void* self, const XML_Char* t, int len) {
    auto* s = static_cast<XmlStream*>(self);
    if (!s->impl_->error) s->handler_.text(std::string_view(t, static_cast<size_t>(len)));
  });
  // Repository metadata has no DTD; one could default attributes or swallow undefined
  // entities, so that depot would read another document than a client.
  XML_SetStartDoctypeDeclHandler(
      impl_->parser, [](void* self, const XML_Char*, const XML_Char*, const XML_Char*, int) {
        auto* s = static_cast<XmlStream*>(self);
        if (!s->impl_->error) {
          s->impl_->error = make_error(ErrorCode::kParse, s->name_ + ": line " +
                                                              std::to_string(s->line()) +
                                                              ": DOCTYPE declarations refused");
        }
        XML_StopParser(s->impl_->parser, XML_FALSE);
      });
  XML_SetEntityDeclHandler(
      impl_->parser, [](void* self, const XML_Char*, int, const XML_Char*, int, const XML_Char*,
                        const XML_Char*, const XML_Char*, const XML_Char*) {
        auto* s = static_cast<XmlStream*>(self);
        if (!s->impl_->error) {
          s->impl_->error =
              make_error(ErrorCode::kParse, s->name_ + ": line " + std::to_string(s->line()) +
                                                ": entity declarations refused");
        }
        XML_StopParser(s->impl_->parser, XML_FALSE);
      });
}

XmlStream::~XmlStream() {
  if (impl_->parser) XML_ParserFree(impl_->parser);
}

uint64_t XmlStream::line() const { return XML_GetCurrentLineNumber(impl_->parser); }

Status XmlStream::feed(std::string_view bytes) {
  // expat takes an int length: large chunks go in pieces.
  constexpr size_t kMax = 1 << 30;
  while (!bytes.empty()) {
    size_t n = std::min(bytes.size(), kMax);
    DEPOT_TRY(parse(bytes.substr(0, n), false));
    bytes.remove_prefix(n);
  }
  return ok_status();
}

Status XmlStream::finish() {
  if (impl_->finished) return make_error(ErrorCode::kInternal, name_ + ": finish() called twice");
  impl_->finished = true;
  return parse({}, true);
}

Status XmlStream::parse(std::string_view bytes, bool final) {
  if (impl_->error) return *impl_->error;
  if (XML_Parse(impl_->parser, bytes.data(), static_cast<int>(bytes.size()),
                final ? XML_TRUE : XML_FALSE) != XML_STATUS_OK) {
    if (impl_->error) return *impl_->error;
    return make_error(ErrorCode::kParse, name_ + ": malformed XML at line " +
                                             std::to_string(line()) + ": " +
                                             XML_ErrorString(XML_GetErrorCode(impl_->parser)));
  }
  if (impl_->error) return *impl_->error;
  return ok_status();
}

const char* xml_attr(const char** attrs, std::string_view key) {
  for (size_t i = 0; attrs && attrs[i]; i += 2) {
    if (key == attrs[i]) return attrs[i + 1];
  }
  return nullptr;
}

}  // namespace depot::yum

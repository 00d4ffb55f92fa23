#pragma once
// A push-style XML reader over expat for yum metadata: feed(bytes) as they arrive, finish() at
// the end; no I/O. Element names are reported without their namespace prefix ("rpm:entry" ->
// "entry"); attributes keep their qualified name ("xml:base"). Documents declaring entities are
// refused. Not thread-safe.

#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"

namespace depot::yum {

class XmlHandler {
 public:
  virtual ~XmlHandler() = default;
  // `attrs` is expat's NULL-terminated name/value array.
  virtual Status start(std::string_view name, const char** attrs) = 0;
  virtual Status end(std::string_view name) = 0;
  virtual void text(std::string_view) {}
};

class XmlStream {
 public:
  // `name` (a URL or path) is used in error messages.
  XmlStream(std::string name, XmlHandler& handler);
  ~XmlStream();
  XmlStream(const XmlStream&) = delete;
  XmlStream& operator=(const XmlStream&) = delete;

  Status feed(std::string_view bytes);
  Status finish();
  // The line expat is at, for messages.
  uint64_t line() const;
  const std::string& name() const { return name_; }

 private:
  struct Impl;
  Status parse(std::string_view bytes, bool final);

  std::string name_;
  XmlHandler& handler_;
  std::unique_ptr<Impl> impl_;
};

// The value of attribute `key` in expat's array, or nullptr.
const char* xml_attr(const char** attrs, std::string_view key);

}  // namespace depot::yum

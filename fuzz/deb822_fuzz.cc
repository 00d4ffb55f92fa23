// deb822 paragraphs (Packages, Sources, Release, control files): Deb822Parser fed the input
// whole and in pieces must see the same paragraphs, or fail on both.

#include <string>
#include <vector>

#include "fuzz_util.h"
#include "sources/apt/deb822.h"

namespace {

using depot::apt::Deb822Parser;
using depot::apt::Stanza;

struct Parsed {
  bool ok = false;
  std::vector<std::string> fields;  // "line\0name\0value" of every field, in order
};

template <class Chunks>
Parsed parse(const Chunks& chunks, size_t max_stanza) {
  Parsed out;
  Deb822Parser parser(
      "fuzz",
      [&](const Stanza& s) {
        for (const auto& f : s.fields()) {
          std::string one = std::to_string(s.line());
          one.append(1, '\0').append(f.name).append(1, '\0').append(f.value);
          out.fields.push_back(std::move(one));
          (void)s.get(f.name);
          for (auto line : depot::apt::value_lines(f.value)) (void)line;
          for (auto word : depot::apt::words(f.value)) (void)word;
        }
        return depot::ok_status();
      },
      max_stanza);
  for (std::string_view c : chunks) {
    if (!parser.feed(c).ok()) return out;
  }
  out.ok = parser.finish().ok();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = depot::fuzz::as_text(data, size);
  if (size > 0 && data[0] == 'X') {
    // A small paragraph limit so that it is reached too. Where a feed stops decides whether a
    // long paragraph is complete before the check, so the two feeds may differ here.
    (void)parse(depot::fuzz::split_chunks(text), 64);
    return 0;
  }
  Parsed whole = parse(std::vector<std::string_view>{text}, 16u << 20);
  Parsed pieces = parse(depot::fuzz::split_chunks(text), 16u << 20);
  depot::fuzz::check(whole.ok == pieces.ok, "deb822: whole and chunked feed disagree on success");
  if (whole.ok) {
    depot::fuzz::check(whole.fields == pieces.fields, "deb822: whole and chunked fields differ");
  }
  return 0;
}

// A package's control file, wrapped in a .deb and imported with read_deb. Oracles for what is
// accepted: the stored paragraph text converts back to the same fields; the pool path the
// publisher links the file at is a safe path under pool/<component>/; the Packages paragraph
// renders, and apt's reading of it gives the package's fields back; relationship fields print and
// re-parse to the same text; version ordering is reflexive and antisymmetric.

#include <string>
#include <vector>

#include "core/rel_path.h"
#include "core/text.h"
#include "deb_file.h"
#include "fuzz_util.h"
#include "pool/deb_reader.h"
#include "pool/deb_relations.h"
#include "pool/packages_file.h"
#include "pool/paragraph.h"
#include "sources/apt/deb822.h"

namespace {

using depot::fuzz::check;

int sign(int v) { return (v > 0) - (v < 0); }

void check_relations(std::string_view value) {
  auto groups = depot::pool::parse_relations(value);
  if (!groups.ok()) return;
  std::string printed;
  for (const auto& g : *groups) printed += (printed.empty() ? "" : ", ") + g.to_string();
  auto again = depot::pool::parse_relations(printed);
  check(again.ok(), "relations: printed form does not parse");
  std::string reprinted;
  for (const auto& g : *again) reprinted += (reprinted.empty() ? "" : ", ") + g.to_string();
  check(printed == reprinted, "relations: print/parse is not stable");
}

// What a client reads from the rendered Packages paragraph: the package's own fields, in order,
// after Package and before the index fields.
void check_rendered(const std::string& rendered, const depot::pool::Package& p) {
  depot::pool::FieldList seen;
  int stanzas = 0;
  depot::apt::Deb822Parser parser("Packages", [&](const depot::apt::Stanza& s) {
    ++stanzas;
    for (const auto& f : s.fields()) seen.emplace_back(f.name, f.value);
    return depot::ok_status();
  });
  check(parser.feed(rendered).ok() && parser.finish().ok(),
        "Packages: rendered text does not parse");
  check(stanzas == 1, "Packages: one package renders as other than one paragraph");
  check(seen.size() == p.fields.size() + 5 && seen.front().first == "Package" &&
            seen.front().second == p.name,
        "Packages: rendered fields differ in number or Package");
  depot::pool::FieldList own;
  for (const auto& f : p.fields) {
    if (!depot::iequals(f.first, "Package")) own.push_back(f);
  }
  check(depot::pool::FieldList(seen.begin() + 1, seen.end() - 5) == own,
        "Packages: rendered paragraph reads back as other fields");
}

void check_package(const depot::pool::Package& p) {
  const std::string text = depot::pool::fields_to_text(p.fields);
  auto back = depot::pool::text_to_fields(text, "fuzz");
  check(back.ok(), "paragraph: stored text of an imported package does not parse");
  check(*back == p.fields, "paragraph: stored text converts back to other fields");

  depot::pool::PackageText t = depot::pool::package_text(p);
  const std::string path = depot::pool::pool_path(t, "main");
  auto rel = depot::RelPath::parse(path);
  check(rel.ok() && rel->str() == path && path.starts_with("pool/main/"),
        "pool_path: an imported package gets an unsafe pool path");
  const depot::pool::PackageText* one[] = {&t};
  auto rendered = depot::pool::render_packages(one, "main");
  check(rendered.ok(), "packages_file: an imported package does not render");
  check_rendered(*rendered, p);

  for (const auto& [name, value] : p.fields) {
    for (const char* f : {"Depends", "Pre-Depends", "Provides", "Breaks", "Conflicts"}) {
      if (name == f) check_relations(value);
    }
    (void)depot::pool::valid_version(value);
    check(depot::pool::compare_versions(value, value) == 0, "versions: not reflexive");
    check(sign(depot::pool::compare_versions(p.version, value)) ==
              -sign(depot::pool::compare_versions(value, p.version)),
          "versions: not antisymmetric");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view control = depot::fuzz::as_text(data, size);
  depot::fuzz::MemFile file(depot::fuzz::deb_with_control(control));
  auto pkg = depot::pool::read_deb(file.path());
  if (pkg.ok()) check_package(*pkg);
  // The stored-text reader on its own, and relations of the raw text.
  (void)depot::pool::text_to_fields(control, "fuzz");
  check_relations(control);
  return 0;
}

#pragma once
// Builds a .deb in memory around a control file, for the fuzz targets: an ar archive of
// debian-binary, control.tar (uncompressed, holding ./control) and an empty data.tar.

#include <archive.h>
#include <archive_entry.h>

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace depot::fuzz {

inline std::string tar_with_control(std::string_view control) {
  std::vector<char> buf(control.size() + 16384);
  size_t used = 0;
  archive* a = archive_write_new();
  archive_write_set_format_ustar(a);
  archive_write_add_filter_none(a);
  archive_write_set_bytes_in_last_block(a, 1);
  archive_write_open_memory(a, buf.data(), buf.size(), &used);
  archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, "./control");
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, static_cast<la_int64_t>(control.size()));
  archive_write_header(a, e);
  archive_write_data(a, control.data(), control.size());
  archive_entry_free(e);
  archive_write_close(a);
  archive_write_free(a);
  return std::string(buf.data(), used);
}

inline void append_ar_member(std::string& out, const char* name, std::string_view data) {
  char header[61];
  std::snprintf(header, sizeof header, "%-16s%-12s%-6s%-6s%-8s%-10zu`\n", name, "0", "0", "0",
                "100644", data.size());
  out.append(header, 60);
  out.append(data);
  if (data.size() % 2) out.push_back('\n');
}

inline std::string deb_with_control(std::string_view control) {
  std::string out = "!<arch>\n";
  append_ar_member(out, "debian-binary", "2.0\n");
  append_ar_member(out, "control.tar", tar_with_control(control));
  append_ar_member(out, "data.tar", "");
  return out;
}

}  // namespace depot::fuzz

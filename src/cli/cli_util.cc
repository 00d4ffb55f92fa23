#include "cli/cli_util.h"

#include <cstdio>

#include "core/file_io.h"
#include "core/logger.h"

namespace depot {

bool announce_listening(const std::string& port_file, const std::string& host, uint16_t port,
                        Logger& logger) {
  if (!port_file.empty()) {
    const std::string tmp = port_file + ".tmp";
    if (Status st = write_whole_file(tmp, std::to_string(port) + "\n"); !st.ok() ||
        std::rename(tmp.c_str(), port_file.c_str()) != 0) {
      logger.error("port_file_failed", {{"path", port_file}});
      return false;
    }
  }
  const std::string shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  std::printf("listening on http://%s:%u/\n", shown.c_str(), static_cast<unsigned>(port));
  std::fflush(stdout);
  return true;
}

bool valid_node_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace depot

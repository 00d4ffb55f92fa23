#include "pool/ed_patch.h"

#include <vector>

#include "core/file_io.h"
#include "core/rel_path.h"
#include "core/subprocess.h"
#include "core/text.h"

namespace depot::pool {
namespace {

// Lines of `text`, each with its '\n' (the last one may lack it).
std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    size_t eol = text.find('\n');
    size_t n = eol == std::string_view::npos ? text.size() : eol + 1;
    out.push_back(text.substr(0, n));
    text.remove_prefix(n);
  }
  return out;
}

struct Command {
  uint64_t first = 0, last = 0;  // line numbers (1-based); for 'a', first == last == N
  char op = 0;
  std::vector<std::string_view> text;
};

// "N[,M]x" without its LF.
bool parse_command(std::string_view line, Command& c) {
  if (line.size() < 2) return false;
  c.op = line.back();
  if (c.op != 'a' && c.op != 'c' && c.op != 'd') return false;
  std::string_view nums = line.substr(0, line.size() - 1);
  size_t comma = nums.find(',');
  auto first = parse_u64(nums.substr(0, comma));
  if (!first) return false;
  c.first = c.last = *first;
  if (comma != std::string_view::npos) {
    auto last = parse_u64(nums.substr(comma + 1));
    if (!last) return false;
    c.last = *last;
  }
  if (c.op == 'a' && comma != std::string_view::npos) return false;
  return c.last >= c.first && (c.op == 'a' || c.first >= 1);
}

}  // namespace

bool has_bare_dot_line(std::string_view text) {
  if (text == "." || text.starts_with(".\n") || text.ends_with("\n.")) return true;
  return text.find("\n.\n") != std::string_view::npos;
}

Result<std::string> make_ed_patch(const std::filesystem::path& from,
                                  const std::filesystem::path& to) {
  const std::string what = "diff --ed " + from.string() + " " + to.string();
  for (const auto& p : {from, to}) {
    DEPOT_ASSIGN_OR_RETURN(std::string text, read_whole_file(p, p.string()));
    if (has_bare_dot_line(text)) {
      return make_error(ErrorCode::kRefused,
                        p.string() + ": has a line \".\", which an ed patch cannot carry");
    }
  }
  ProcessOptions opts;
  opts.timeout = std::chrono::minutes(10);
  opts.max_output = 256u << 20;
  auto res = run_process({"diff", "--ed", from.string(), to.string()}, opts);
  if (!res.ok()) return make_error(ErrorCode::kIo, what + ": " + res.error().message);
  if (res->exit_code == 0) return std::string();
  if (res->exit_code != 1) {
    return make_error(ErrorCode::kIo, what + " failed (exit " + std::to_string(res->exit_code) +
                                          "): " + std::string(trim(res->err)));
  }
  return std::move(res->out);
}

Result<std::string> apply_ed_patch(std::string_view base, std::string_view patch,
                                   std::string_view what) {
  const std::vector<std::string_view> lines = split_lines(base);
  const std::vector<std::string_view> script = split_lines(patch);
  auto fail = [&](size_t at, const std::string& why) {
    return make_error(ErrorCode::kParse,
                      std::string(what) + ": line " + std::to_string(at + 1) + ": " + why);
  };
  std::vector<Command> cmds;
  for (size_t i = 0; i < script.size(); ++i) {
    std::string_view line = script[i];
    if (!line.ends_with('\n')) return fail(i, "no final line feed");
    Command c;
    if (!parse_command(line.substr(0, line.size() - 1), c)) {
      return fail(i, "unknown command " + quote_untrusted(line.substr(0, line.size() - 1)));
    }
    // Descending: this command's lines (for a: the line it appends after) lie before the first
    // line the previous one touched (for a: the line after its N).
    if (!cmds.empty()) {
      const Command& prev = cmds.back();
      if (c.last >= (prev.op == 'a' ? prev.first + 1 : prev.first)) {
        return fail(i, "command not below the previous one");
      }
    }
    if (c.last > lines.size()) return fail(i, "line number past the end of the input");
    if (c.op != 'd') {
      for (++i;; ++i) {
        if (i >= script.size()) return fail(i, "text block not ended by \".\"");
        if (!script[i].ends_with('\n')) return fail(i, "no final line feed");
        if (script[i] == ".\n") break;
        c.text.push_back(script[i]);
      }
    }
    cmds.push_back(std::move(c));
  }
  std::string out;
  out.reserve(base.size() + patch.size());
  uint64_t next = 1;  // next input line to copy
  for (auto it = cmds.rbegin(); it != cmds.rend(); ++it) {
    const uint64_t keep_to = it->op == 'a' ? it->first : it->first - 1;
    for (; next <= keep_to; ++next) out.append(lines[next - 1]);
    if (it->op != 'a') next = it->last + 1;
    for (std::string_view t : it->text) out.append(t);
  }
  for (; next <= lines.size(); ++next) out.append(lines[next - 1]);
  return out;
}

}  // namespace depot::pool

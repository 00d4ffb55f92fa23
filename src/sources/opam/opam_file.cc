#include "sources/opam/opam_file.h"

#include <array>

#include "core/rel_path.h"
#include "core/text.h"

namespace depot::opam {
namespace {

constexpr int kMaxDepth = 64;

enum class Tok { kString, kWord, kSym, kOp, kEnd };

struct Token {
  Tok type = Tok::kEnd;
  std::string text;
  int line = 1;
};

bool word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Operators, longest first so that a prefix never shadows a longer one.
constexpr std::array<std::string_view, 15> kOps = {"=+=", "!=", "<=", ">=", "+=", "-=", ":=", "=+",
                                                   "=:",  "=",  "<",  ">",  "!",  "?",  "&"};

class Lexer {
 public:
  Lexer(std::string_view text, const std::string &where) : s_(text), where_(where) {}

  Result<std::vector<Token>> run() {
    std::vector<Token> out;
    for (;;) {
      DEPOT_TRY(skip_space());
      if (i_ >= s_.size()) break;
      DEPOT_ASSIGN_OR_RETURN(Token t, next());
      out.push_back(std::move(t));
    }
    out.push_back(Token{Tok::kEnd, "", line_});
    return out;
  }

 private:
  Error error(const std::string &what) const {
    return make_error(ErrorCode::kParse, where_ + ": line " + std::to_string(line_) + ": " + what);
  }

  Status skip_space() {
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == '\n') {
        ++line_;
        ++i_;
      } else if (c == ' ' || c == '\t' || c == '\r') {
        ++i_;
      } else if (c == '#') {
        while (i_ < s_.size() && s_[i_] != '\n') ++i_;
      } else if (s_.substr(i_, 2) == "(*") {
        DEPOT_TRY(skip_comment());
      } else {
        break;
      }
    }
    return ok_status();
  }

  Status skip_comment() {
    int depth = 0;
    while (i_ < s_.size()) {
      if (s_.substr(i_, 2) == "(*") {
        ++depth;
        i_ += 2;
      } else if (s_.substr(i_, 2) == "*)") {
        i_ += 2;
        if (--depth == 0) return ok_status();
      } else {
        if (s_[i_] == '\n') ++line_;
        ++i_;
      }
    }
    return error("unterminated comment");
  }

  Result<Token> next() {
    const int line = line_;
    char c = s_[i_];
    if (c == '"') {
      DEPOT_ASSIGN_OR_RETURN(std::string str, string());
      return Token{Tok::kString, std::move(str), line};
    }
    if (std::string_view("[]{}()").find(c) != std::string_view::npos) {
      ++i_;
      return Token{Tok::kSym, std::string(1, c), line};
    }
    if (c == '|') {
      ++i_;
      return Token{Tok::kOp, "|", line};
    }
    if (word_char(c) && !(c == '-' && (i_ + 1 >= s_.size() || !is_digit(s_[i_ + 1])))) {
      return Token{Tok::kWord, word(), line};
    }
    for (std::string_view op : kOps) {
      if (s_.substr(i_, op.size()) == op) {
        i_ += op.size();
        return Token{Tok::kOp, std::string(op), line};
      }
    }
    if (c == ':') {
      ++i_;
      return Token{Tok::kSym, ":", line};
    }
    return error("unexpected character " + quote_untrusted(std::string_view(&s_[i_], 1)));
  }

  // An ident (with '+' joining parts and one ":part" of a package variable),
  // int or bool.
  std::string word() {
    size_t start = i_;
    ++i_;
    for (;;) {
      while (i_ < s_.size() && word_char(s_[i_])) ++i_;
      bool join = i_ + 1 < s_.size() && (s_[i_] == '+' || s_[i_] == ':') && word_char(s_[i_ + 1]) &&
                  s_[i_ + 1] != '-';
      if (!join) break;
      ++i_;
    }
    return std::string(s_.substr(start, i_ - start));
  }

  Result<std::string> string() {
    const bool triple = s_.substr(i_, 3) == "\"\"\"";
    i_ += triple ? 3 : 1;
    std::string out;
    for (;;) {
      if (i_ >= s_.size()) return error("unterminated string");
      char c = s_[i_];
      if (triple ? s_.substr(i_, 3) == "\"\"\"" : c == '"') {
        i_ += triple ? 3 : 1;
        return out;
      }
      if (c == '\\') {
        DEPOT_TRY(escape(out));
        continue;
      }
      if (c == '\n') ++line_;
      out += c;
      ++i_;
    }
  }

  Status escape(std::string &out) {
    ++i_;  // the backslash
    if (i_ >= s_.size()) return error("unterminated string");
    char c = s_[i_++];
    switch (c) {
      case '\\':
      case '"':
      case '\'':
      case ' ':
        out += c;
        return ok_status();
      case 'n':
        out += '\n';
        return ok_status();
      case 'r':
        out += '\r';
        return ok_status();
      case 't':
        out += '\t';
        return ok_status();
      case 'b':
        out += '\b';
        return ok_status();
      case '\r':
      case '\n':  // continuation: the newline and the next line's indentation go
        if (c == '\r' && i_ < s_.size() && s_[i_] == '\n') ++i_;
        ++line_;
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
        return ok_status();
      case 'x': {
        int hi = i_ + 1 < s_.size() ? hex_digit_value(s_[i_]) : -1;
        int lo = hi >= 0 ? hex_digit_value(s_[i_ + 1]) : -1;
        if (lo < 0) return error("bad \\x escape");
        out += static_cast<char>(hi * 16 + lo);
        i_ += 2;
        return ok_status();
      }
      default:
        break;
    }
    if (is_digit(c) && i_ + 1 < s_.size() && is_digit(s_[i_]) && is_digit(s_[i_ + 1])) {
      int v = (c - '0') * 100 + (s_[i_] - '0') * 10 + (s_[i_ + 1] - '0');
      if (v > 255) return error("bad decimal escape");
      out += static_cast<char>(v);
      i_ += 2;
      return ok_status();
    }
    return error("unknown escape \\" + quote_untrusted(std::string_view(&c, 1)));
  }

  std::string_view s_;
  const std::string &where_;
  size_t i_ = 0;
  int line_ = 1;
};

bool is_relop(std::string_view op) {
  return op == "=" || op == "!=" || op == "<" || op == "<=" || op == ">" || op == ">=";
}

class Parser {
 public:
  Parser(std::vector<Token> toks, const std::string &where) : t_(std::move(toks)), where_(where) {}

  Result<File> file() {
    DEPOT_ASSIGN_OR_RETURN(File f, items(0));
    if (peek().type != Tok::kEnd) return error("unexpected " + describe(peek()));
    return f;
  }

 private:
  const Token &peek(size_t ahead = 0) const { return t_[std::min(p_ + ahead, t_.size() - 1)]; }
  bool at_sym(const char *s, size_t ahead = 0) const {
    return peek(ahead).type == Tok::kSym && peek(ahead).text == s;
  }
  Error error(const std::string &what) const {
    return make_error(ErrorCode::kParse,
                      where_ + ": line " + std::to_string(peek().line) + ": " + what);
  }
  static std::string describe(const Token &t) {
    if (t.type == Tok::kEnd) return "end of file";
    return quote_untrusted(t.type == Tok::kString ? "\"" + t.text + "\"" : t.text);
  }

  // Items up to '}' (in a section) or the end of the file.
  Result<File> items(int depth) {
    if (depth > kMaxDepth) return error("nested too deeply");
    File f;
    while (peek().type != Tok::kEnd && !at_sym("}")) {
      if (peek().type != Tok::kWord) return error("expected a field name, got " + describe(peek()));
      std::string name = t_[p_++].text;
      if (at_sym(":")) {
        ++p_;
        DEPOT_ASSIGN_OR_RETURN(Value v, value(depth + 1));
        f.fields.emplace_back(std::move(name), std::move(v));
        continue;
      }
      Section s;
      s.kind = std::move(name);
      if (peek().type == Tok::kString && at_sym("{", 1)) s.name = t_[p_++].text;
      if (!at_sym("{")) return error("expected ':' or '{' after " + quote_untrusted(s.kind));
      ++p_;
      DEPOT_ASSIGN_OR_RETURN(s.body, items(depth + 1));
      if (!at_sym("}")) return error("unterminated section " + quote_untrusted(s.kind));
      ++p_;
      f.sections.push_back(std::move(s));
    }
    return f;
  }

  // Values up to the closing symbol `close`, which is consumed.
  Result<std::vector<Value>> values_until(const char *close, int depth) {
    std::vector<Value> out;
    while (!at_sym(close)) {
      if (peek().type == Tok::kEnd) return error(std::string("missing '") + close + "'");
      DEPOT_ASSIGN_OR_RETURN(Value v, value(depth + 1));
      out.push_back(std::move(v));
    }
    ++p_;
    return out;
  }

  Result<Value> value(int depth) {
    if (depth > kMaxDepth) return error("nested too deeply");
    DEPOT_ASSIGN_OR_RETURN(Value v, unary(depth + 1));
    for (;;) {
      if (at_sym("{")) {
        ++p_;
        DEPOT_ASSIGN_OR_RETURN(auto filters, values_until("}", depth + 1));
        Value opt{Value::Kind::kOption, "", {std::move(v)}};
        for (auto &f : filters) opt.items.push_back(std::move(f));
        v = std::move(opt);
      } else if (peek().type == Tok::kOp && peek().text != "!" && peek().text != "?") {
        std::string op = t_[p_++].text;
        DEPOT_ASSIGN_OR_RETURN(Value rhs, unary(depth + 1));
        v = Value{Value::Kind::kInfix, std::move(op), {std::move(v), std::move(rhs)}};
      } else {
        return v;
      }
    }
  }

  Result<Value> unary(int depth) {
    if (depth > kMaxDepth) return error("nested too deeply");
    const Token &t = peek();
    if (t.type == Tok::kOp && (t.text == "!" || t.text == "?" || is_relop(t.text))) {
      std::string op = t_[p_++].text;
      DEPOT_ASSIGN_OR_RETURN(Value operand, unary(depth + 1));
      return Value{Value::Kind::kPrefix, std::move(op), {std::move(operand)}};
    }
    if (at_sym("[") || at_sym("(")) {
      const bool list = at_sym("[");
      ++p_;
      DEPOT_ASSIGN_OR_RETURN(auto items, values_until(list ? "]" : ")", depth + 1));
      return Value{list ? Value::Kind::kList : Value::Kind::kGroup, "", std::move(items)};
    }
    if (t.type == Tok::kString) return Value{Value::Kind::kString, t_[p_++].text, {}};
    if (t.type == Tok::kWord) return Value{word_kind(t.text), t_[p_++].text, {}};
    return error("expected a value, got " + describe(t));
  }

  static Value::Kind word_kind(std::string_view w) {
    if (w == "true" || w == "false") return Value::Kind::kBool;
    std::string_view digits = w.starts_with('-') ? w.substr(1) : w;
    bool all = !digits.empty();
    for (char c : digits) all = all && is_digit(c);
    return all ? Value::Kind::kInt : Value::Kind::kIdent;
  }

  std::vector<Token> t_;
  const std::string &where_;
  size_t p_ = 0;
};

}  // namespace

const Value *File::field(std::string_view name) const {
  for (const auto &[k, v] : fields) {
    if (k == name) return &v;
  }
  return nullptr;
}

Result<File> parse_file(std::string_view text, const std::string &where) {
  DEPOT_ASSIGN_OR_RETURN(auto tokens, Lexer(text, where).run());
  return Parser(std::move(tokens), where).file();
}

Result<std::vector<std::string>> string_list(const Value &v, const std::string &where,
                                             std::string_view field) {
  auto bad = [&] {
    return make_error(ErrorCode::kParse, where + ": field " + std::string(field) +
                                             " is not a string or a list of strings");
  };
  if (v.kind == Value::Kind::kString) return std::vector<std::string>{v.text};
  if (v.kind != Value::Kind::kList && v.kind != Value::Kind::kGroup) return bad();
  std::vector<std::string> out;
  for (const Value &item : v.items) {
    if (item.kind != Value::Kind::kString) return bad();
    out.push_back(item.text);
  }
  return out;
}

Result<Checksum> parse_checksum(std::string_view text, const std::string &where) {
  Checksum c;
  std::string_view hex = text;
  if (size_t eq = text.find('='); eq != std::string_view::npos) {
    std::string_view algo = text.substr(0, eq);
    hex = text.substr(eq + 1);
    if (algo == "md5") {
      c.algo = DigestAlgo::kMd5;
    } else if (algo == "sha256") {
      c.algo = DigestAlgo::kSha256;
    } else if (algo == "sha512") {
      c.algo = DigestAlgo::kSha512;
    } else {
      return make_error(ErrorCode::kParse,
                        where + ": unknown checksum kind " + quote_untrusted(algo));
    }
  }
  auto norm = normalize_hex_digest(c.algo, hex);
  if (!norm.ok()) {
    return make_error(ErrorCode::kParse, where + ": bad checksum " + quote_untrusted(text));
  }
  c.hex = std::move(norm).value();
  return c;
}

namespace {

// The archive described by the fields of `f` (a url section or an opam 1.2 url
// file); nullopt when it names no checksum.
Result<std::optional<Archive>> archive_of(const File &f, std::string name, const std::string &at) {
  Archive a;
  a.name = std::move(name);
  for (const char *key : {"src", "archive", "http"}) {
    const Value *v = f.field(key);
    if (v == nullptr) continue;
    if (v->kind != Value::Kind::kString) {
      return make_error(ErrorCode::kParse, at + ": field " + key + " is not a string");
    }
    a.src = v->text;
    break;
  }
  if (const Value *m = f.field("mirrors")) {
    DEPOT_ASSIGN_OR_RETURN(a.mirrors, string_list(*m, at, "mirrors"));
  }
  const Value *ck = f.field("checksum");
  if (ck == nullptr) return std::optional<Archive>();
  DEPOT_ASSIGN_OR_RETURN(auto texts, string_list(*ck, at, "checksum"));
  for (const auto &t : texts) {
    DEPOT_ASSIGN_OR_RETURN(Checksum c, parse_checksum(t, at));
    a.checksums.push_back(std::move(c));
  }
  if (a.checksums.empty()) return std::optional<Archive>();
  return std::optional<Archive>(std::move(a));
}

}  // namespace

Result<std::vector<Archive>> archives_of(const File &file, const std::string &where) {
  std::vector<Archive> out;
  auto add = [&](const File &f, std::string name, const std::string &at) -> Status {
    DEPOT_ASSIGN_OR_RETURN(auto a, archive_of(f, std::move(name), at));
    if (a) out.push_back(std::move(*a));
    return ok_status();
  };
  if (file.field("checksum") != nullptr) DEPOT_TRY(add(file, "", where));  // opam 1.2 url file
  for (const Section &s : file.sections) {
    if (s.kind == "url") {
      DEPOT_TRY(add(s.body, "", where + ": url"));
    } else if (s.kind == "extra-source") {
      DEPOT_TRY(add(s.body, s.name, where + ": extra-source " + quote_untrusted(s.name)));
    }
  }
  return out;
}

std::string cache_rel(const Checksum &c) {
  return std::string(digest_algo_name(c.algo)) + "/" + c.hex.substr(0, 2) + "/" + c.hex;
}

}  // namespace depot::opam

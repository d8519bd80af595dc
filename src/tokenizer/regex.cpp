// regex.cpp — PCRE2 (32-bit code units: the pipeline's text is UTF-32, so match offsets are code point indices).
#define PCRE2_CODE_UNIT_WIDTH 32
#include "tokenizer/regex.hpp"

#include <pcre2.h>

#include "rerank/error.hpp"
#include "tokenizer/unicode.hpp"

namespace rerank::tok {

namespace {

// Oniguruma's Unicode classes where PCRE2's (UCP) differ: \s is White_Space (PCRE2 lacks U+0085), \w is
// Letter | Mark | Decimal_Number | Connector_Punctuation (PCRE2: letters, all numbers, '_'), \h is a hex digit
// (PCRE2: horizontal space). \b / \B follow \w.
#define RERANK_ONIG_W "\\p{L}\\p{M}\\p{Nd}\\p{Pc}"
const char* escape(char n) {
  switch (n) {
    case 's': return "[\\s\\x{85}]";
    case 'S': return "[^\\s\\x{85}]";
    case 'w': return "[" RERANK_ONIG_W "]";
    case 'W': return "[^" RERANK_ONIG_W "]";
    case 'h': return "[0-9a-fA-F]";
    case 'H': return "[^0-9a-fA-F]";
    case 'b': return "(?:(?<=[" RERANK_ONIG_W "])(?![" RERANK_ONIG_W "])|(?<![" RERANK_ONIG_W "])(?=[" RERANK_ONIG_W "]))";
    case 'B': return "(?:(?<=[" RERANK_ONIG_W "])(?=[" RERANK_ONIG_W "])|(?<![" RERANK_ONIG_W "])(?![" RERANK_ONIG_W "]))";
    default: return nullptr;
  }
}
// Inside a character class only the positive classes can be widened (\S, \W, \H stay PCRE2's).
const char* class_escape(char n) {
  switch (n) {
    case 's': return "\\s\\x{85}";
    case 'w': return RERANK_ONIG_W;
    case 'h': return "0-9a-fA-F";
    default: return nullptr;
  }
}
#undef RERANK_ONIG_W

}  // namespace

std::string onig_compatible_pattern(std::string_view p) {
  std::string out;
  out.reserve(p.size() + 16);
  bool in_class = false;
  size_t class_start = 0;  // position just after '[' or '[^' (a ']' there is a literal)
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      const char n = p[i + 1];
      if (n == 'Q') {  // \Q...\E: quoted, copied as is
        const size_t e = p.find("\\E", i + 2);
        const size_t stop = e == std::string_view::npos ? p.size() : e + 2;
        out.append(p.substr(i, stop - i));
        i = stop - 1;
        continue;
      }
      const char* rep = in_class ? class_escape(n) : escape(n);
      if (rep) {
        out += rep;
      } else {
        out += c;
        out += n;
      }
      ++i;
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      class_start = i + 1;
      if (class_start < p.size() && p[class_start] == '^') ++class_start;
    } else if (in_class && c == '[' && i + 1 < p.size() && p[i + 1] == ':') {
      const size_t e = p.find(":]", i + 2);  // POSIX class [:alpha:] inside a class
      if (e != std::string_view::npos) {
        out.append(p.substr(i, e + 2 - i));
        i = e + 1;
        continue;
      }
    } else if (in_class && c == ']' && i != class_start) {
      in_class = false;
    }
    out += c;
  }
  return out;
}

struct Regex::Code {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Code() { pcre2_code_free(code); }
};

namespace {

// Per-thread match state: match data for the whole-match offsets and a JIT stack larger than the 32 KiB default
// (long runs of whitespace or letters in hostile input).
struct MatchState {
  pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
  pcre2_match_context* ctx = pcre2_match_context_create(nullptr);
  pcre2_jit_stack* stack = pcre2_jit_stack_create(64 * 1024, 8 * 1024 * 1024, nullptr);
  MatchState() {
    if (stack) pcre2_jit_stack_assign(ctx, nullptr, stack);
  }
  ~MatchState() {
    pcre2_jit_stack_free(stack);
    pcre2_match_context_free(ctx);
    pcre2_match_data_free(data);
  }
};

MatchState& match_state() {
  thread_local MatchState s;
  return s;
}

std::string pcre2_message(int code) {
  PCRE2_UCHAR buf[256];
  const int n = pcre2_get_error_message(code, buf, 256);
  std::string out;
  for (int i = 0; i < n; ++i) append_utf8(static_cast<char32_t>(buf[i]), out);
  return out;
}

}  // namespace

Regex::Regex(std::string_view pattern, bool literal, const std::string& source, const std::string& field)
    : code_(std::make_unique<Code>()), pattern_(pattern) {
  U32 p;
  decode_utf8(literal ? pattern : std::string_view(onig_compatible_pattern(pattern)), p);
  int err = 0;
  PCRE2_SIZE offset = 0;
  const uint32_t options = literal ? PCRE2_UTF | PCRE2_LITERAL : PCRE2_UTF | PCRE2_UCP;
  code_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(p.data()), p.size(), options, &err, &offset, nullptr);
  if (!code_->code)
    throw ModelError(source + ": field '" + field + "': invalid regular expression '" + pattern_ + "': " +
                     pcre2_message(err) + " (at code point " + std::to_string(offset) + ")");
  code_->jit = pcre2_jit_compile(code_->code, PCRE2_JIT_COMPLETE) == 0;
}

Regex::~Regex() = default;
Regex::Regex(Regex&&) noexcept = default;
Regex& Regex::operator=(Regex&&) noexcept = default;

void Regex::find_all(const char32_t* s, size_t n, std::vector<Range>& out) const {
  out.clear();
  MatchState& st = match_state();
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(s);
  // onig crate FindMatches: search from last_end; an empty match ending where the previous match ended is
  // dropped and the search resumes one character later.
  size_t last_end = 0;
  bool have_prev = false;
  size_t prev_end = 0;
  while (last_end <= n) {
    const int rc = pcre2_match(code_->code, subject, n, last_end, PCRE2_NO_UTF_CHECK, st.data, st.ctx);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0)
      throw InputError("regular expression '" + pattern_ + "' failed on a text of " + std::to_string(n) +
                       " characters: " + pcre2_message(rc));
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(st.data);
    const size_t b = ov[0], e = ov[1];
    if (b == e && have_prev && prev_end == e) {
      last_end += 1;
      continue;
    }
    last_end = e;
    have_prev = true;
    prev_end = e;
    out.push_back({static_cast<uint32_t>(b), static_cast<uint32_t>(e)});
  }
}

}  // namespace rerank::tok

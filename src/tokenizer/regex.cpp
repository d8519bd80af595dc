// regex.cpp — PCRE2 (32-bit code units) behind tok::Regex (see regex.hpp).
#define PCRE2_CODE_UNIT_WIDTH 32
#include "tokenizer/regex.hpp"

#include <pcre2.h>

#include "rerank/error.hpp"

namespace rerank::tok {

struct Regex::Code {
  pcre2_code* code = nullptr;
  ~Code() { pcre2_code_free(code); }
};

Regex::Regex(const std::string& pattern, const std::string& source, const std::string& field)
    : code_(std::make_unique<Code>()) {
  U32 p;
  decode_utf8(pattern, p);
  int err = 0;
  PCRE2_SIZE at = 0;
  code_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(p.data()), p.size(), PCRE2_UTF | PCRE2_UCP, &err, &at,
                              nullptr);
  if (!code_->code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, 256);
    std::string text;
    for (const PCRE2_UCHAR* m = msg; *m; ++m) append_utf8(static_cast<char32_t>(*m), text);
    throw ModelError(source + ": field '" + field + "': invalid regular expression '" + pattern + "': " + text +
                     " at offset " + std::to_string(at));
  }
  pcre2_jit_compile(code_->code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter when JIT is unavailable
}

Regex::~Regex() = default;

void Regex::find_all(const U32& s, uint32_t begin, uint32_t end, std::vector<Match>& out) const {
  out.clear();
  struct MatchData {
    pcre2_match_data* md = pcre2_match_data_create(1, nullptr);
    ~MatchData() { pcre2_match_data_free(md); }
  };
  thread_local MatchData data;
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(s.data() + begin);
  const PCRE2_SIZE len = end - begin;
  PCRE2_SIZE pos = 0;
  PCRE2_SIZE last_match_end = PCRE2_UNSET;
  while (pos <= len) {
    const int rc = pcre2_match(code_->code, subject, len, pos, PCRE2_NO_UTF_CHECK, data.md, nullptr);
    if (rc < 0) break;  // no match (or a matching error such as a resource limit: no further matches)
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(data.md);
    const PCRE2_SIZE ms = ov[0], me = ov[1];
    if (ms == me && me == last_match_end) {
      // An empty match right after the previous match is skipped (Oniguruma's find_iter rule).
      pos += 1;
      continue;
    }
    out.push_back({begin + static_cast<uint32_t>(ms), begin + static_cast<uint32_t>(me)});
    pos = me;
    last_match_end = me;
  }
}

}  // namespace rerank::tok

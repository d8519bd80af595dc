// regex.hpp — internal: the regular expressions of tokenizer.json (Split patterns, ByteLevel's GPT-2 pattern),
// compiled by PCRE2 (Debian libpcre2-dev) in UTF + UCP mode on code points, JIT-compiled when available.
//
// tokenizers compiles these patterns with Oniguruma; both are backtracking, leftmost-first engines with the same
// syntax for what tokenizer.json files use (\p{L}, \s, (?i:...), lookahead). Where their Unicode classes differ,
// the pattern is rewritten to Oniguruma's meaning: \s includes U+0085 (White_Space), \w is letters, marks, decimal
// digits and connector punctuation (so are \b, \B), \h is a hex digit. Inside a character class only \s, \w, \h
// are rewritten.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/unicode.hpp"

namespace rerank::tok {

/// A match or piece: code point indices [begin, end).
struct Match {
  uint32_t begin;
  uint32_t end;
};
using Range = Match;

class Regex {
 public:
  /// Compiles `pattern` (UTF-8); `literal` matches the string itself. Throws ModelError naming `source` and
  /// `field` when the pattern does not compile.
  Regex(std::string_view pattern, bool literal, const std::string& source, const std::string& field);
  Regex(const std::string& pattern, const std::string& source, const std::string& field)
      : Regex(pattern, false, source, field) {}
  ~Regex();
  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;

  /// Replaces `out` with the matches in s[0, n), enumerated as the onig crate's find_iter does (which
  /// tokenizers uses): left to right, an empty match right where the previous match ended is skipped.
  /// Throws InputError if the engine gives up (match or depth limit).
  void find_all(const char32_t* s, size_t n, std::vector<Range>& out) const;
  /// The same over s[begin, end) (lookarounds see only that range), offsets relative to s.
  void find_all(const U32& s, uint32_t begin, uint32_t end, std::vector<Match>& out) const {
    find_all(s.data() + begin, end - begin, out);
    for (Match& m : out) {
      m.begin += begin;
      m.end += begin;
    }
  }

  const std::string& pattern() const { return pattern_; }

 private:
  struct Code;
  std::unique_ptr<Code> code_;
  std::string pattern_;
};

/// The pattern with Oniguruma's \s \S \w \W \h \H \b \B spelled for PCRE2; exposed for tests.
std::string onig_compatible_pattern(std::string_view pattern);

}  // namespace rerank::tok

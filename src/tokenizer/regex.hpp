// regex.hpp — internal: the regular expressions of tokenizer.json (Split patterns, ByteLevel's GPT-2 pattern),
// compiled by PCRE2 (Debian libpcre2-dev) in UTF + UCP mode on code points, JIT-compiled when available.
//
// tokenizers compiles these patterns with Oniguruma; both are backtracking, leftmost-first engines with the same
// syntax for what tokenizer.json files use (\p{L}, \s, (?i:...), lookahead). One difference is smoothed over:
// Oniguruma's \s is Unicode White_Space, which includes U+0085 (NEL); PCRE2's UCP \s does not, so `\s` and `\S` in a
// pattern are rewritten to include / exclude U+0085.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rerank::tok {

/// A match or piece: code point indices [begin, end).
struct Range {
  uint32_t begin;
  uint32_t end;
};

class Regex {
 public:
  /// Compiles `pattern` (UTF-8); `literal` matches the string itself. Throws ModelError naming `source` and
  /// `field` when the pattern does not compile.
  Regex(std::string_view pattern, bool literal, const std::string& source, const std::string& field);
  ~Regex();
  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;

  /// Replaces `out` with the matches in s[0, n), enumerated as the onig crate's find_iter does (which
  /// tokenizers uses): left to right, an empty match right where the previous match ended is skipped.
  /// Throws InputError if the engine gives up (match or depth limit).
  void find_all(const char32_t* s, size_t n, std::vector<Range>& out) const;

  const std::string& pattern() const { return pattern_; }

 private:
  struct Code;
  std::unique_ptr<Code> code_;
  std::string pattern_;
};

/// The pattern with `\s` / `\S` widened to Oniguruma's White_Space (adds U+0085); exposed for tests.
std::string onig_compatible_pattern(std::string_view pattern);

}  // namespace rerank::tok

// regex.hpp — internal: the regular expressions of tokenizer.json (Replace normalizer, Split pre-tokenizer, the
// ByteLevel pattern), run by PCRE2 over code points (the 32-bit library, UTF + UCP: \s, \w, \d and \p{..} are
// Unicode-aware as in the Oniguruma engine tokenizers uses).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/unicode.hpp"

namespace rerank::tok {

/// A match: code point indices [begin, end).
struct Match {
  uint32_t begin;
  uint32_t end;
};

class Regex {
 public:
  /// Compiles a UTF-8 pattern; a bad pattern is a ModelError naming `source` and `field`.
  Regex(const std::string& pattern, const std::string& source, const std::string& field);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  /// Replaces `out` with the non-overlapping matches in s[begin, end), left to right. Lookarounds see only
  /// s[begin, end). After an empty match the search resumes one code point further (as Oniguruma's find_iter).
  void find_all(const U32& s, uint32_t begin, uint32_t end, std::vector<Match>& out) const;

 private:
  struct Code;
  std::unique_ptr<Code> code_;
};

}  // namespace rerank::tok

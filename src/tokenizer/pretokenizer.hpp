// pretokenizer.hpp — internal: splitting normalized text into words.
//
// Supported: BertPreTokenizer, WhitespaceSplit, Punctuation (behavior Isolated or Removed), Sequence of these.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/json_util.hpp"
#include "tokenizer/unicode.hpp"

namespace rerank::tok {

/// A word: code point indices [begin, end) into the normalized text.
struct Span {
  uint32_t begin;
  uint32_t end;
};

class PreTokenizer {
 public:
  enum class Kind { Bert, WhitespaceSplit, PunctuationIsolated, PunctuationRemoved };

  /// Parses the `pre_tokenizer` section (null = the whole text is one word).
  static PreTokenizer from_json(const Json& j, const std::string& source);
  static PreTokenizer bert();

  /// Replaces `out` with the words of `s[begin, end)` (never empty spans).
  void split(const U32& s, uint32_t begin, uint32_t end, std::vector<Span>& out, std::vector<Span>& tmp) const;

 private:
  void parse_into(const Json& j, const std::string& source, const std::string& path);
  std::vector<Kind> steps_;
};

}  // namespace rerank::tok

// added_tokens.hpp — internal: the `added_tokens` of tokenizer.json, matched in the text before the model runs.
//
// As tokenizers' AddedVocabulary: tokens with `normalized: false` are found in the raw text, the rest in the
// normalized remainder (their content normalized the same way); leftmost-longest, non-overlapping matches;
// `single_word` rejects matches touching word characters (Rust regex \w); `lstrip`/`rstrip` absorb adjacent
// whitespace (an rstrip may even absorb the start of the next added token, whose piece then overlaps: kept as
// tokenizers does).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/unicode.hpp"

namespace rerank::tok {

struct AddedToken {
  std::string content;
  U32 chars;  ///< what is matched (normalized content for `normalized` tokens)
  int32_t id = -1;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
  bool special = false;
};

/// A piece of text: code point indices [begin, end) and the added token's id, or -1 for ordinary text.
struct Piece {
  uint32_t begin;
  uint32_t end;
  int32_t id;
};

class AddedTokenSet {
 public:
  void add(AddedToken t);
  bool empty() const { return tokens_.empty(); }
  /// Replaces `out` with the pieces of `s[begin, end)`.
  void split(const U32& s, uint32_t begin, uint32_t end, std::vector<Piece>& out) const;

 private:
  std::vector<AddedToken> tokens_;
  uint64_t first_ascii_[2] = {0, 0};  ///< bitset of ASCII first characters
  bool any_non_ascii_first_ = false;
};

}  // namespace rerank::tok

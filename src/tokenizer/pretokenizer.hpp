// pretokenizer.hpp — internal: tokenizers' pre-tokenizers (the `pre_tokenizer` section): steps over a list of
// words, as tokenizers' PreTokenizedString splits.
//
// The words are ranges of one code point buffer. A step replaces each word by zero or more words: splitting
// steps (BertPreTokenizer, WhitespaceSplit, Punctuation) return sub-ranges of the buffer; transforming steps
// (Metaspace, ByteLevel, ...) append the rewritten text to the END of the buffer and return ranges there, so ranges
// held by the caller stay valid. A Sequence is flattened into its steps. Adding a type is one entry in the
// registry table of pretokenizer.cpp (a name and a PreTokParser).
//
// Built in: BertPreTokenizer, WhitespaceSplit, Punctuation (Isolated, Removed), Metaspace, ByteLevel, Split, Sequence.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/json_util.hpp"
#include "tokenizer/unicode.hpp"

namespace rerank::tok {

/// A word: code point indices [begin, end) into the buffer. `at_start`: the word begins at offset 0 of the
/// original input (tokenizers' `offsets_original().0 == 0`, which Metaspace's prepend_scheme "first" tests).
/// `lead`: how many of its first characters are aligned with offset 0 (more than one when the normalizer
/// expanded the input's first character, e.g. NFKC "¨" -> " \u0308"): a piece split off within them is at the
/// start too. Steps that do not track it leave it 0 (then only a word's first piece inherits at_start).
struct Span {
  uint32_t begin;
  uint32_t end;
  bool at_start = false;
  uint32_t lead = 0;
};

class PreTokStep {
 public:
  virtual ~PreTokStep() = default;
  /// Replaces `words` with their pieces. May append to `buf` (never modifies existing text). `tmp` is scratch.
  /// Never yields empty words.
  virtual void apply(U32& buf, std::vector<Span>& words, std::vector<Span>& tmp) const = 0;
};

/// A pre-tokenizer parser: the JSON object (at field path `path` of `source`) -> the step.
using PreTokParser = std::unique_ptr<PreTokStep> (*)(const Json& j, const std::string& source,
                                                     const std::string& path);

class PreTokenizer {
 public:
  /// Parses the `pre_tokenizer` section (null = the whole text is one word).
  static PreTokenizer from_json(const Json& j, const std::string& source);
  static PreTokenizer bert();

  /// Replaces `out` with the words of `buf[begin, end)` (never empty spans); may append to `buf`. `lead`: the
  /// number of leading characters aligned with offset 0 of the input (0: the text is not at the start).
  void split(U32& buf, uint32_t begin, uint32_t end, uint32_t lead, std::vector<Span>& out,
             std::vector<Span>& tmp) const;

 private:
  void parse_into(const Json& j, const std::string& source, const std::string& path);
  std::vector<std::shared_ptr<const PreTokStep>> steps_;
};

/// The `Metaspace` pre-tokenizer (metaspace.cpp).
std::unique_ptr<PreTokStep> parse_metaspace(const Json& j, const std::string& source, const std::string& path);
/// The `ByteLevel` pre-tokenizer (byte_level.cpp).
std::unique_ptr<PreTokStep> parse_byte_level(const Json& j, const std::string& source, const std::string& path);
/// The `Split` pre-tokenizer (split.cpp).
std::unique_ptr<PreTokStep> parse_split(const Json& j, const std::string& source, const std::string& path);

}  // namespace rerank::tok

// byte_level.hpp — internal: GPT-2's byte-level alphabet and the `ByteLevel` pre-tokenizer, as tokenizers'
// pre_tokenizers/byte_level.rs behaves.
//
// Each piece of text gets a leading ' ' with `add_prefix_space` (unless it starts with one), is split by GPT-2's
// pattern with `use_regex` (every character lands in some word), and every UTF-8 byte of each word becomes one
// printable character (bytes 0x21-0x7E, 0xA1-0xAC, 0xAE-0xFF map to themselves, the others to U+0100...).
// `trim_offsets` only changes offsets, which the engine does not report.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/json_util.hpp"
#include "tokenizer/regex.hpp"
#include "tokenizer/unicode.hpp"

namespace rerank::tok {

/// The printable character standing for byte `b`.
char32_t byte_to_char(uint8_t b);
/// The byte a byte-level character stands for, or -1.
int char_to_byte(char32_t c);
/// Appends the byte-level form of s[b, e) (each UTF-8 byte as its character) to `out`.
void append_byte_level(const char32_t* b, const char32_t* e, U32& out);

/// GPT-2's split pattern, as tokenizers compiles it for ByteLevel.
inline constexpr const char* kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class ByteLevelPreTokenizer {
 public:
  /// From a pre-tokenizer object of type "ByteLevel" at `path`.
  static ByteLevelPreTokenizer from_json(const Json& j, const std::string& source, const std::string& path);
  ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex)
      : add_prefix_space_(add_prefix_space), use_regex_(use_regex) {}

  /// Pre-tokenizes one piece s[0, n) (n > 0): appends its byte-level words to `text` and their ranges in `text`
  /// to `words`. `s` must not point into `text`.
  void apply(const char32_t* s, uint32_t n, U32& text, std::vector<Range>& words) const;

 private:
  bool add_prefix_space_;
  bool use_regex_;
};

}  // namespace rerank::tok

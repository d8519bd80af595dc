// unicode.hpp — internal: UTF-8 <-> code points and the character classes the BERT pipeline needs.
//
// The classes follow the Rust functions Hugging Face `tokenizers` uses (char::is_whitespace, the
// unicode_categories crate, char::to_lowercase); categories come from utf8proc, so characters whose
// category changed after the crate's Unicode tables may classify differently (see docs in tokenizer.cpp).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace rerank::tok {

using U32 = std::u32string;

/// Frees a thread-local scratch buffer after use when it holds over 64 KiB (16,384 code points of text). Every
/// thread that ever tokenized (a server has hundreds of HTTP workers) would otherwise keep its largest input's
/// buffers for good, and the process's memory would creep up as more threads meet large inputs; ordinary passages
/// stay below the bound, so they never reallocate.
template <class V>
void release_if_large(V& v) {
  constexpr size_t kMaxBytes = size_t{64} << 10;
  if (v.capacity() * sizeof(typename V::value_type) > kMaxBytes) V().swap(v);
}

/// Decodes UTF-8, replacing each maximal invalid subsequence with U+FFFD (as Rust's from_utf8_lossy).
void decode_utf8(std::string_view in, U32& out);
/// Appends the UTF-8 encoding of `cp` to `out`.
void append_utf8(char32_t cp, std::string& out);
/// Encodes a code point range as UTF-8 (replacing `out`).
void encode_utf8(const char32_t* begin, const char32_t* end, std::string& out);
inline std::string to_utf8(const U32& s) {
  std::string out;
  encode_utf8(s.data(), s.data() + s.size(), out);
  return out;
}

namespace detail {
enum : uint8_t { kWs = 1, kPunct = 2, kCtrl = 4 };
// Classes of the ASCII characters: whitespace (\t..\r, ' '), punctuation (!../, :..@, [..`, {..~), control
// (C0 except \t \n \r, and DEL).
inline constexpr struct AsciiTable {
  uint8_t v[128] = {};
  constexpr AsciiTable() {
    for (int c = 0; c < 0x20; ++c) v[c] = kCtrl;
    v[0x7F] = kCtrl;
    for (int c = 0x09; c <= 0x0D; ++c) v[c] = kWs;
    v[0x0B] |= kCtrl;
    v[0x0C] |= kCtrl;
    v[0x20] = kWs;
    for (int c = 0x21; c <= 0x2F; ++c) v[c] = kPunct;
    for (int c = 0x3A; c <= 0x40; ++c) v[c] = kPunct;
    for (int c = 0x5B; c <= 0x60; ++c) v[c] = kPunct;
    for (int c = 0x7B; c <= 0x7E; ++c) v[c] = kPunct;
  }
} kAscii{};
bool is_whitespace_slow(char32_t c);
bool is_bert_control_slow(char32_t c);
bool is_bert_punctuation_slow(char32_t c);
}  // namespace detail

/// Rust char::is_whitespace (Unicode White_Space).
inline bool is_whitespace(char32_t c) {
  return c < 128 ? (detail::kAscii.v[c] & detail::kWs) != 0 : detail::is_whitespace_slow(c);
}
/// The BERT normalizer's "control": categories Cc, Cf, Co, Cs, except \t \n \r.
inline bool is_bert_control(char32_t c) {
  return c < 128 ? (detail::kAscii.v[c] & detail::kCtrl) != 0 : detail::is_bert_control_slow(c);
}
/// ASCII punctuation or a Unicode P* category.
inline bool is_bert_punctuation(char32_t c) {
  return c < 128 ? (detail::kAscii.v[c] & detail::kPunct) != 0 : detail::is_bert_punctuation_slow(c);
}
/// CJK ideograph ranges of the BERT normalizer (as in tokenizers' normalizers/bert.rs).
bool is_chinese_char(char32_t c);
/// Category Mn.
bool is_nonspacing_mark(char32_t c);
/// Categories Mn, Mc, Me.
bool is_mark(char32_t c);
/// Rust regex \w (Unicode): letters, marks, Nd, Nl, Pc, Join_Control (added tokens' single_word; Alphabetic
/// symbols such as circled letters are not covered).
bool is_word_char(char32_t c);

/// Single-char lowercase (correct for every c except U+0130).
char32_t lower_simple(char32_t c);
/// Appends Rust char::to_lowercase(c) (full mapping: U+0130 -> "i\u0307").
void append_lowercase(char32_t c, U32& out);

enum class NormForm { NFD, NFC, NFKD, NFKC };
/// Applies a Unicode normalization form to `s` in place.
void normalize_form(U32& s, NormForm form);

}  // namespace rerank::tok

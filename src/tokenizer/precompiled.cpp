// precompiled.cpp — the Precompiled normalizer: SentencePiece's compiled normalization rules
// (`precompiled_charsmap`, base64), applied as tokenizers' normalizers/precompiled.rs does.
//
// The charsmap (sentencepiece normalizer.cc / spm_precompiled): a little-endian uint32 `trie_size` (bytes), then
// trie_size / 4 little-endian uint32 units of a darts-clone double-array trie over UTF-8 bytes, then the
// replacement table: NUL-terminated UTF-8 strings. A unit holds: has_leaf = bit 8, label = bits 0-7 and 31,
// offset = (unit >> 10) << ((unit & 512) >> 6), value = unit & 0x7FFFFFFF (an offset into the table).
//
// Application, per extended grapheme cluster of the text (utf8proc): a cluster of fewer than 6 UTF-8 bytes
// that has a rule is replaced whole; otherwise each of its characters with a rule is replaced. "Has a rule" is
// tokenizers' transform(): the SHORTEST key of the trie that is a prefix of the chunk, whose replacement then
// stands for the whole chunk (kept as is: tokenizers matches SentencePiece models this way).
//
// The whole reachable trie is checked at load (depth <= 5 bytes, the longest chunk looked up), so lookups never
// leave the array and every value points inside the table at a character boundary.
#include <utf8proc.h>

#include <algorithm>
#include <cstring>
#include <string_view>
#include <utility>

#include "tokenizer/normalizer.hpp"

namespace rerank::tok {

namespace {

constexpr size_t kMaxChunk = 5;  // graphemes of < 6 bytes, or one character (<= 4 bytes)

// The UTF-8 bytes of `c` into `out` (room for 4); returns their count.
inline size_t utf8_bytes(char32_t c, unsigned char* out) {
  if (c < 0x80) {
    out[0] = static_cast<unsigned char>(c);
    return 1;
  }
  if (c < 0x800) {
    out[0] = static_cast<unsigned char>(0xC0 | (c >> 6));
    out[1] = static_cast<unsigned char>(0x80 | (c & 0x3F));
    return 2;
  }
  if (c < 0x10000) {
    out[0] = static_cast<unsigned char>(0xE0 | (c >> 12));
    out[1] = static_cast<unsigned char>(0x80 | ((c >> 6) & 0x3F));
    out[2] = static_cast<unsigned char>(0x80 | (c & 0x3F));
    return 3;
  }
  out[0] = static_cast<unsigned char>(0xF0 | (c >> 18));
  out[1] = static_cast<unsigned char>(0x80 | ((c >> 12) & 0x3F));
  out[2] = static_cast<unsigned char>(0x80 | ((c >> 6) & 0x3F));
  out[3] = static_cast<unsigned char>(0x80 | (c & 0x3F));
  return 4;
}

inline bool has_leaf(uint32_t u) { return ((u >> 8) & 1) != 0; }
inline uint32_t value(uint32_t u) { return u & 0x7FFFFFFFu; }
inline uint32_t label(uint32_t u) { return u & 0x800000FFu; }
inline uint32_t offset(uint32_t u) { return (u >> 10) << ((u & 512u) >> 6); }

// Standard base64 with padding (Rust's BASE64_STANDARD); false on any invalid input.
bool base64_decode(std::string_view in, std::string& out) {
  auto digit = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (in.size() % 4 != 0) return false;
  out.clear();
  out.reserve(in.size() / 4 * 3);
  for (size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    int pad = 0;
    if (last && in[i + 3] == '=') pad = in[i + 2] == '=' ? 2 : 1;
    uint32_t v = 0;
    for (size_t k = 0; k < 4; ++k) {
      const int d = k >= 4 - static_cast<size_t>(pad) ? 0 : digit(in[i + k]);
      if (d < 0) return false;
      v = (v << 6) | static_cast<uint32_t>(d);
    }
    out.push_back(static_cast<char>(v >> 16));
    if (pad < 2) out.push_back(static_cast<char>((v >> 8) & 0xFF));
    if (pad < 1) out.push_back(static_cast<char>(v & 0xFF));
    if ((pad == 1 && (v & 0xFF) != 0) || (pad == 2 && (v & 0xFFFF) != 0)) return false;  // non-canonical
  }
  return true;
}

struct Precompiled final : NormStep {
  std::vector<uint32_t> array;
  std::string table;

  // tokenizers' transform(): the replacement of the shortest key that prefixes `chunk`, or null.
  const char* transform(const unsigned char* chunk, size_t n) const {
    size_t pos = offset(array[0]);
    for (size_t i = 0; i < n && chunk[i] != 0; ++i) {
      pos ^= chunk[i];
      const uint32_t unit = array[pos];
      if (label(unit) != chunk[i]) return nullptr;
      pos ^= offset(unit);
      if (has_leaf(unit)) return table.c_str() + value(array[pos]);
    }
    return nullptr;
  }

  void apply(U32& s, U32& tmp, size_t& lead) const override;
  void check(const std::string& source, const std::string& field) const;
};

// The leading characters aligned with offset 0 after tokenizers' NormalizedString::transform of the changes
// Precompiled emits, as observed with tokenizers 0.23 offsets: the k-th character of a chunk's replacement
// consumes the chunk's k-th character (the first also the surplus of a shrinking chunk) and extra characters
// are insertions aligned with the character before them; a chunk replaced by nothing emits no change, so the
// characters after it take the alignment of the deleted ones ("\x01b": 'b' is aligned with offset 0).
size_t lead_after(const std::vector<int>& changes, size_t lead) {
  size_t idx = 0, out = 0;
  for (int c : changes) {
    const bool z = c > 0 ? (idx < 1 || idx - 1 < lead) : idx < lead;
    if (!z) break;
    ++out;
    if (c <= 0) idx += 1 + static_cast<size_t>(-c);
  }
  return out;
}

void Precompiled::apply(U32& s, U32& tmp, size_t& lead) const {
  tmp.clear();
  bool modified = false;
  unsigned char bytes[16];
  thread_local U32 cps;
  thread_local std::vector<int> changes;  // for the first characters only (enough to find `lead`)
  changes.clear();
  const size_t track = lead + 16;
  auto replace_with = [&](const char* rep, size_t old_count) {
    decode_utf8(std::string_view(rep, std::strlen(rep)), cps);
    if (tmp.size() < track) {
      const int grow = static_cast<int>(cps.size()) - static_cast<int>(old_count);
      for (size_t k = 0; k < cps.size(); ++k) changes.push_back(k == 0 ? std::min(0, grow) : k < old_count ? 0 : 1);
    }
    tmp += cps;
    modified = true;
  };
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    // The grapheme cluster [i, j).
    utf8proc_int32_t state = 0;
    size_t j = i + 1;
    while (j < n && !utf8proc_grapheme_break_stateful(static_cast<utf8proc_int32_t>(s[j - 1]),
                                                      static_cast<utf8proc_int32_t>(s[j]), &state))
      ++j;
    size_t len = 0;
    for (size_t k = i; k < j && len < 6; ++k) len += utf8_bytes(s[k], bytes + len);
    if (len < 6) {
      if (const char* rep = transform(bytes, len)) {
        replace_with(rep, j - i);
        i = j;
        continue;
      }
    }
    for (size_t k = i; k < j; ++k) {
      const size_t m = utf8_bytes(s[k], bytes);
      if (const char* rep = transform(bytes, m)) {
        replace_with(rep, 1);
      } else {
        if (tmp.size() < track) changes.push_back(0);
        tmp.push_back(s[k]);
      }
    }
    i = j;
  }
  if (!modified) return;
  s.swap(tmp);
  if (lead > 0) lead = std::min(lead_after(changes, lead), s.size());
}

// Walks every path of up to kMaxChunk bytes: all units reached must be inside the array, all values inside the
// table at a character boundary.
void Precompiled::check(const std::string& source, const std::string& field) const {
  if (array.empty()) fail(source, field, "empty trie");
  std::vector<uint8_t> seen(array.size(), 0);  // deepest remaining depth explored from each position (+1)
  struct Item {
    size_t pos;
    size_t depth;
  };
  std::vector<Item> stack{{static_cast<size_t>(offset(array[0])), 0}};
  if (stack[0].pos >= array.size()) fail(source, field, "truncated trie (root offset past the end)");
  while (!stack.empty()) {
    const Item it = stack.back();
    stack.pop_back();
    const auto remaining = static_cast<uint8_t>(kMaxChunk - it.depth + 1);
    if (seen[it.pos] >= remaining) continue;
    seen[it.pos] = remaining;
    for (uint32_t c = 1; c < 256; ++c) {
      const size_t child = it.pos ^ c;
      if (child >= array.size()) {
        if ((it.pos | 255) < array.size()) continue;
        fail(source, field, "truncated trie (a node's children lie past the end)");
      }
      const uint32_t unit = array[child];
      if (label(unit) != c) continue;
      const size_t next = child ^ offset(unit);
      if (next >= array.size()) fail(source, field, "truncated trie (an offset points past the end)");
      if (has_leaf(unit)) {
        const uint32_t v = value(array[next]);
        if (v > table.size()) fail(source, field, "a replacement offset points past the replacement table");
        if (v < table.size() && (static_cast<unsigned char>(table[v]) & 0xC0) == 0x80)
          fail(source, field, "a replacement offset points inside a character");
      }
      if (it.depth + 1 < kMaxChunk) stack.push_back({next, it.depth + 1});
    }
  }
}

}  // namespace

std::unique_ptr<NormStep> parse_precompiled(const Json& j, const std::string& source, const std::string& path) {
  const std::string field = path + ".precompiled_charsmap";
  auto it = j.find("precompiled_charsmap");
  if (it == j.end() || !it->is_string()) fail(source, field, "missing or not a string");
  std::string blob;
  if (!base64_decode(it->get<std::string>(), blob)) fail(source, field, "invalid base64");
  if (blob.size() < 4) fail(source, field, "too short for the trie size");
  uint32_t trie_size = 0;
  for (int k = 3; k >= 0; --k) trie_size = (trie_size << 8) | static_cast<unsigned char>(blob[static_cast<size_t>(k)]);
  if (trie_size % 4 != 0 || trie_size > blob.size() - 4)
    fail(source, field, "trie size " + std::to_string(trie_size) + " does not fit the " +
                            std::to_string(blob.size()) + "-byte charsmap");
  auto p = std::make_unique<Precompiled>();
  p->array.resize(trie_size / 4);
  for (size_t u = 0; u < p->array.size(); ++u) {
    uint32_t v = 0;
    for (int k = 3; k >= 0; --k) v = (v << 8) | static_cast<unsigned char>(blob[4 + u * 4 + static_cast<size_t>(k)]);
    p->array[u] = v;
  }
  p->table = blob.substr(4 + trie_size);
  U32 check;
  decode_utf8(p->table, check);
  if (to_utf8(check) != p->table) fail(source, field, "the replacement table is not valid UTF-8");
  p->check(source, field);
  return p;
}

}  // namespace rerank::tok

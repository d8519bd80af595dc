// byte_level.cpp — the byte <-> character table (GPT-2's bytes_to_unicode) and the ByteLevel pre-tokenizer.
#include "tokenizer/byte_level.hpp"

#include "tokenizer/pretokenizer.hpp"

#include <array>

namespace rerank::tok {

namespace {

struct Tables {
  std::array<char32_t, 256> to_char{};
  std::array<int16_t, 324> to_byte{};  // characters 0..0x143
  Tables() {
    to_byte.fill(-1);
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      to_char[b] = printable ? static_cast<char32_t>(b) : next++;
      to_byte[to_char[b]] = static_cast<int16_t>(b);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

const Regex& gpt2_regex() {
  static const Regex re(kGpt2Pattern, false, "ByteLevel", "pattern");
  return re;
}

}  // namespace

char32_t byte_to_char(uint8_t b) { return tables().to_char[b]; }

int char_to_byte(char32_t c) { return c < tables().to_byte.size() ? tables().to_byte[c] : -1; }

void append_byte_level(const char32_t* b, const char32_t* e, U32& out) {
  const Tables& t = tables();
  for (const char32_t* p = b; p < e; ++p) {
    const char32_t c = *p;
    if (c < 0x80) {
      out.push_back(t.to_char[c]);
    } else if (c < 0x800) {
      out.push_back(t.to_char[0xC0 | (c >> 6)]);
      out.push_back(t.to_char[0x80 | (c & 0x3F)]);
    } else if (c < 0x10000) {
      out.push_back(t.to_char[0xE0 | (c >> 12)]);
      out.push_back(t.to_char[0x80 | ((c >> 6) & 0x3F)]);
      out.push_back(t.to_char[0x80 | (c & 0x3F)]);
    } else {
      out.push_back(t.to_char[0xF0 | (c >> 18)]);
      out.push_back(t.to_char[0x80 | ((c >> 12) & 0x3F)]);
      out.push_back(t.to_char[0x80 | ((c >> 6) & 0x3F)]);
      out.push_back(t.to_char[0x80 | (c & 0x3F)]);
    }
  }
}

ByteLevelPreTokenizer ByteLevelPreTokenizer::from_json(const Json& j, const std::string& source,
                                                       const std::string& path) {
  return ByteLevelPreTokenizer(get_bool(j, "add_prefix_space", true, source, path),
                               get_bool(j, "use_regex", true, source, path));
}

void ByteLevelPreTokenizer::apply(const char32_t* s, uint32_t n, U32& text, std::vector<Range>& words) const {
  thread_local U32 prefixed;
  thread_local std::vector<Range> matches;
  if (n == 0) return;
  if (add_prefix_space_ && s[0] != U' ') {
    prefixed.assign(1, U' ');
    prefixed.append(s, n);
    s = prefixed.data();
    n = static_cast<uint32_t>(prefixed.size());
  }
  auto emit = [&](uint32_t b, uint32_t e) {
    const auto start = static_cast<uint32_t>(text.size());
    append_byte_level(s + b, s + e, text);
    words.push_back({start, static_cast<uint32_t>(text.size())});
  };
  if (!use_regex_) {
    emit(0, n);
  } else {
    // Isolated: matches and the gaps between them are all words (GPT-2's pattern leaves no gaps in practice).
    gpt2_regex().find_all(s, n, matches);
    uint32_t prev = 0;
    for (const Range& m : matches) {
      if (prev < m.begin) emit(prev, m.begin);
      if (m.begin < m.end) emit(m.begin, m.end);
      prev = m.end;
    }
    if (prev < n) emit(prev, n);
  }
  release_if_large(prefixed);
  release_if_large(matches);
}

namespace {

// Transforming step: each word's byte-level words are appended to the buffer.
struct ByteLevelStep final : PreTokStep {
  ByteLevelPreTokenizer pre;
  explicit ByteLevelStep(ByteLevelPreTokenizer p) : pre(p) {}
  void apply(U32& buf, std::vector<Span>& words, std::vector<Span>& out) const override {
    thread_local U32 word;    // a copy: appending to buf may move it
    thread_local std::vector<Range> pieces;
    out.clear();
    for (const Span& w : words) {
      word.assign(buf, w.begin, w.end - w.begin);
      pieces.clear();
      pre.apply(word.data(), static_cast<uint32_t>(word.size()), buf, pieces);
      for (size_t i = 0; i < pieces.size(); ++i)
        out.push_back({pieces[i].begin, pieces[i].end, w.at_start && i == 0});
    }
    words.swap(out);
    release_if_large(word);
    release_if_large(pieces);
  }
};

}  // namespace

std::unique_ptr<PreTokStep> parse_byte_level(const Json& j, const std::string& source, const std::string& path) {
  return std::make_unique<ByteLevelStep>(ByteLevelPreTokenizer::from_json(j, source, path));
}

}  // namespace rerank::tok

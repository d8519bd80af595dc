// The BM25 analyzer, modelled on Lucene's EnglishAnalyzer (as Anserini/Pyserini use it):
// StandardTokenizer (UAX#29 word boundaries) -> EnglishPossessiveFilter -> LowerCaseFilter -> StopFilter
// (EnglishAnalyzer.ENGLISH_STOP_WORDS_SET) -> PorterStemFilter.
//
// The tokenizer implements the UAX#29 rules that matter for text: letters, digits, marks and '_' join;
// '.', '\'', U+2019 and ':' join two letters (WB6/7); '.', ',', ';', '\'' and U+2019 join two digits (WB11/12);
// ideographs and kana are single-character tokens (as StandardTokenizer emits them); everything else separates.
#include <libstemmer.h>
#include <utf8proc.h>

#include <array>
#include <cstring>

#include "rerank/error.hpp"
#include "rerank/index.hpp"

namespace rerank {
namespace {

enum class Cls { Other, Letter, Digit, Extend, Ideo, MidLetter, MidNum, MidNumLet };

Cls classify(int32_t c) {
  if (c < 0x80) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return Cls::Letter;
    if (c >= '0' && c <= '9') return Cls::Digit;
    if (c == '_') return Cls::Extend;
    if (c == '.' || c == '\'') return Cls::MidNumLet;
    if (c == ':') return Cls::MidLetter;
    if (c == ',' || c == ';') return Cls::MidNum;
    return Cls::Other;
  }
  if (c == 0x2019 || c == 0x2018 || c == 0x2024 || c == 0xFE52 || c == 0xFF07 || c == 0xFF0E) return Cls::MidNumLet;
  if (c == 0x00B7 || c == 0x2027 || c == 0xFE13 || c == 0xFE55 || c == 0xFF1A) return Cls::MidLetter;
  if (c == 0x037E || c == 0x0589 || c == 0x060C || c == 0xFE50 || c == 0xFE54 || c == 0xFF0C || c == 0xFF1B) return Cls::MidNum;
  if ((c >= 0x3040 && c <= 0x30FF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) ||
      (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x2FFFF))
    return Cls::Ideo;
  switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
      return Cls::Letter;
    case UTF8PROC_CATEGORY_ND:
      return Cls::Digit;
    case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME: case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_CF:
      return Cls::Extend;
    default:
      return Cls::Other;
  }
}

struct Cp {
  int32_t c;
  size_t pos, len;
  Cls cls;
};

std::vector<Cp> decode(std::string_view text) {
  std::vector<Cp> out;
  out.reserve(text.size());
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  size_t i = 0, n = text.size();
  while (i < n) {
    int32_t c;
    utf8proc_ssize_t l = utf8proc_iterate(p + i, static_cast<utf8proc_ssize_t>(n - i), &c);
    if (l <= 0) {  // invalid byte: a separator
      out.push_back({0xFFFD, i, 1, Cls::Other});
      ++i;
      continue;
    }
    out.push_back({c, i, static_cast<size_t>(l), classify(c)});
    i += static_cast<size_t>(l);
  }
  return out;
}

bool word_char(Cls c) { return c == Cls::Letter || c == Cls::Digit || c == Cls::Extend; }

constexpr std::array<const char*, 33> kStopWords = {
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not",
    "of", "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was",
    "will", "with"};

std::string lowercase(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
  size_t i = 0, n = s.size();
  while (i < n) {
    unsigned char ch = static_cast<unsigned char>(s[i]);
    if (ch < 0x80) {
      out.push_back(static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch));
      ++i;
      continue;
    }
    int32_t c;
    utf8proc_ssize_t l = utf8proc_iterate(p + i, static_cast<utf8proc_ssize_t>(n - i), &c);
    if (l <= 0) { ++i; continue; }
    utf8proc_uint8_t buf[4];
    utf8proc_ssize_t w = utf8proc_encode_char(utf8proc_tolower(c), buf);
    out.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(w));
    i += static_cast<size_t>(l);
  }
  return out;
}

}  // namespace

struct Analyzer::Impl {
  sb_stemmer* stemmer = nullptr;
  ~Impl() {
    if (stemmer) sb_stemmer_delete(stemmer);
  }
};

Analyzer::Analyzer(const std::string& stemmer) : impl_(std::make_unique<Impl>()), stemmer_name_(stemmer) {
  if (!stemmer.empty() && stemmer != "none") {
    impl_->stemmer = sb_stemmer_new(stemmer.c_str(), "UTF_8");
    if (!impl_->stemmer) throw Error("unknown stemmer \"" + stemmer + "\" (libstemmer has e.g. porter, english)");
  }
}
Analyzer::~Analyzer() = default;
Analyzer::Analyzer(Analyzer&&) noexcept = default;
Analyzer& Analyzer::operator=(Analyzer&&) noexcept = default;

bool Analyzer::is_stop_word(std::string_view w) {
  for (const char* s : kStopWords)
    if (w == s) return true;
  return false;
}

std::vector<std::string> Analyzer::tokenize(std::string_view text) {
  std::vector<Cp> cps = decode(text);
  std::vector<std::string> tokens;
  size_t i = 0, n = cps.size();
  while (i < n) {
    if (cps[i].cls == Cls::Ideo) {
      tokens.emplace_back(text.substr(cps[i].pos, cps[i].len));
      ++i;
      continue;
    }
    if (!word_char(cps[i].cls)) {
      ++i;
      continue;
    }
    size_t start = i;
    Cls last = cps[i].cls;  // last Letter/Digit class seen
    ++i;
    while (i < n) {
      Cls c = cps[i].cls;
      if (word_char(c)) {
        if (c != Cls::Extend) last = c;
        ++i;
        continue;
      }
      if (i + 1 < n && (c == Cls::MidLetter || c == Cls::MidNum || c == Cls::MidNumLet)) {
        Cls next = cps[i + 1].cls;
        bool join = (last == Cls::Letter && next == Cls::Letter && (c == Cls::MidLetter || c == Cls::MidNumLet)) ||
                    (last == Cls::Digit && next == Cls::Digit && (c == Cls::MidNum || c == Cls::MidNumLet));
        if (join) {
          i += 2;
          last = next;
          continue;
        }
      }
      break;
    }
    bool has_alnum = false;
    for (size_t j = start; j < i; ++j) has_alnum |= cps[j].cls == Cls::Letter || cps[j].cls == Cls::Digit;
    if (has_alnum) {
      size_t b = cps[start].pos, e = cps[i - 1].pos + cps[i - 1].len;
      if (e - b <= 255) tokens.emplace_back(text.substr(b, e - b));  // StandardTokenizer's max token length
    }
  }
  return tokens;
}

std::vector<std::string> Analyzer::analyze(std::string_view text) {
  std::vector<std::string> out = tokenize(text);
  size_t w = 0;
  for (auto& t : out) {
    // EnglishPossessiveFilter: trailing 's / ’s / ＇s (either case of s)
    size_t n = t.size();
    if (n >= 2 && (t[n - 1] == 's' || t[n - 1] == 'S')) {
      if (t[n - 2] == '\'') t.resize(n - 2);
      else if (n >= 4 && (t.compare(n - 4, 3, "\xE2\x80\x99") == 0 || t.compare(n - 4, 3, "\xEF\xBC\x87") == 0))
        t.resize(n - 4);
    }
    if (t.empty()) continue;
    std::string l = lowercase(t);
    if (is_stop_word(l)) continue;
    if (impl_->stemmer) {
      const sb_symbol* s = sb_stemmer_stem(impl_->stemmer, reinterpret_cast<const sb_symbol*>(l.data()), static_cast<int>(l.size()));
      if (s) l.assign(reinterpret_cast<const char*>(s), static_cast<size_t>(sb_stemmer_length(impl_->stemmer)));
    }
    if (l.empty()) continue;
    out[w++] = std::move(l);
  }
  out.resize(w);
  return out;
}

// ---- Lucene SmallFloat.intToByte4 / byte4ToInt -----------------------------------------------------------

namespace {
int long_to_int4(uint64_t i) {
  if (i == 0) return 0;
  int bits = 64 - __builtin_clzll(i);
  if (bits < 4) return static_cast<int>(i);
  int shift = bits - 4;
  int encoded = static_cast<int>(i >> shift) & 0x07;
  return encoded | ((shift + 1) << 3);
}
uint64_t int4_to_long(int i) {
  uint64_t bits = static_cast<uint64_t>(i & 0x07);
  int shift = (i >> 3) - 1;
  return shift == -1 ? bits : (bits | 0x08) << shift;
}
const int kNumFreeValues = 255 - long_to_int4(2147483647ULL);  // 24
}  // namespace

unsigned char lucene_length_to_byte(unsigned length) {
  if (static_cast<int>(length) < kNumFreeValues) return static_cast<unsigned char>(length);
  return static_cast<unsigned char>(kNumFreeValues + long_to_int4(length - kNumFreeValues));
}

unsigned lucene_byte_to_length(unsigned char b) {
  int i = b;
  if (i < kNumFreeValues) return static_cast<unsigned>(i);
  uint64_t d = kNumFreeValues + int4_to_long(i - kNumFreeValues);
  return static_cast<unsigned>(std::min<uint64_t>(d, 2147483647ULL));
}

}  // namespace rerank

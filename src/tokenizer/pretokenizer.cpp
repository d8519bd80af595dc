// pretokenizer.cpp — BertPreTokenizer and friends, as tokenizers' pre_tokenizers/{bert,whitespace,punctuation}.rs
// behave (whitespace, Rust char::is_whitespace, separates and is removed; punctuation becomes its own word), and
// the registry of pre-tokenizer types.
#include "tokenizer/pretokenizer.hpp"

#include <utility>

namespace rerank::tok {

namespace {

// Splits on whitespace and/or punctuation; never transforms the text.
struct CharSplit final : PreTokStep {
  bool ws = true;
  bool punct = true;
  bool keep_punct = true;
  CharSplit(bool w, bool p, bool keep) : ws(w), punct(p), keep_punct(keep) {}

  // The piece [b, e) of word `sp`, with its share of the characters aligned with offset 0.
  static Span piece(const Span& sp, uint32_t b, uint32_t e) {
    const uint32_t k = b - sp.begin;
    if (!sp.at_start || (k > 0 && k >= sp.lead)) return {b, e, false, 0};
    return {b, e, true, sp.lead > k ? sp.lead - k : 0};
  }

  void apply(U32& s, std::vector<Span>& words, std::vector<Span>& out) const override {
    out.clear();
    for (const Span& sp : words) {
      uint32_t start = sp.begin;
      for (uint32_t i = sp.begin; i < sp.end; ++i) {
        const char32_t c = s[i];
        if (ws && is_whitespace(c)) {
          if (start < i) out.push_back(piece(sp, start, i));
          start = i + 1;
        } else if (punct && is_bert_punctuation(c)) {
          if (start < i) out.push_back(piece(sp, start, i));
          if (keep_punct) out.push_back(piece(sp, i, i + 1));
          start = i + 1;
        }
      }
      if (start < sp.end) out.push_back(piece(sp, start, sp.end));
    }
    words.swap(out);
  }
};

std::unique_ptr<PreTokStep> parse_bert(const Json&, const std::string&, const std::string&) {
  return std::make_unique<CharSplit>(true, true, true);
}

std::unique_ptr<PreTokStep> parse_whitespace_split(const Json&, const std::string&, const std::string&) {
  return std::make_unique<CharSplit>(true, false, true);
}

std::unique_ptr<PreTokStep> parse_punctuation(const Json& j, const std::string& source, const std::string& path) {
  const std::string behavior = get_string(j, "behavior", "Isolated", source, path);
  if (behavior == "Isolated") return std::make_unique<CharSplit>(false, true, true);
  if (behavior == "Removed") return std::make_unique<CharSplit>(false, true, false);
  fail(source, path + ".behavior", "unsupported Punctuation behavior '" + behavior + "' (supported: Isolated, Removed)");
}

struct PreTokEntry {
  const char* type;
  PreTokParser parse;
};

const PreTokEntry kPreTokenizers[] = {
    {"BertPreTokenizer", &parse_bert},
    {"WhitespaceSplit", &parse_whitespace_split},
    {"Punctuation", &parse_punctuation},
    {"Metaspace", &parse_metaspace},
    {"ByteLevel", &parse_byte_level},
    {"Split", &parse_split},
};

}  // namespace

PreTokenizer PreTokenizer::bert() {
  PreTokenizer p;
  p.steps_.push_back(std::make_shared<CharSplit>(true, true, true));
  return p;
}

PreTokenizer PreTokenizer::from_json(const Json& j, const std::string& source) {
  PreTokenizer p;
  if (!j.is_null()) p.parse_into(j, source, "pre_tokenizer");
  return p;
}

void PreTokenizer::parse_into(const Json& j, const std::string& source, const std::string& path) {
  const std::string type = get_type(j, source, path);
  if (type == "Sequence") {
    auto it = j.find("pretokenizers");
    if (it == j.end() || !it->is_array()) fail(source, path + ".pretokenizers", "missing or not an array");
    for (size_t i = 0; i < it->size(); ++i)
      parse_into((*it)[i], source, path + ".pretokenizers[" + std::to_string(i) + "]");
    return;
  }
  std::string supported = "Sequence";
  for (const PreTokEntry& e : kPreTokenizers) {
    if (type == e.type) {
      steps_.push_back(e.parse(j, source, path));
      return;
    }
    supported += std::string(", ") + e.type;
  }
  fail(source, path + ".type", "unsupported pre-tokenizer '" + type + "' (supported: " + supported + ")");
}

void PreTokenizer::split(U32& buf, uint32_t begin, uint32_t end, uint32_t lead, std::vector<Span>& out,
                         std::vector<Span>& tmp) const {
  out.clear();
  if (begin >= end) return;
  out.push_back({begin, end, lead > 0, lead});
  for (const auto& step : steps_) step->apply(buf, out, tmp);
}

}  // namespace rerank::tok

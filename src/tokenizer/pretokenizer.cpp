// pretokenizer.cpp — BertPreTokenizer and friends, as tokenizers' pre_tokenizers/{bert,whitespace,punctuation}.rs
// behave: whitespace (Rust char::is_whitespace) separates and is removed, punctuation becomes its own word.
#include "tokenizer/pretokenizer.hpp"

namespace rerank::tok {

namespace {

void split_step(PreTokenizer::Kind kind, const U32& s, const std::vector<Span>& in, std::vector<Span>& out) {
  out.clear();
  const bool ws = kind == PreTokenizer::Kind::Bert || kind == PreTokenizer::Kind::WhitespaceSplit;
  const bool punct = kind != PreTokenizer::Kind::WhitespaceSplit;
  const bool keep_punct = kind != PreTokenizer::Kind::PunctuationRemoved;
  for (const Span& sp : in) {
    uint32_t start = sp.begin;
    for (uint32_t i = sp.begin; i < sp.end; ++i) {
      const char32_t c = s[i];
      if (ws && is_whitespace(c)) {
        if (start < i) out.push_back({start, i});
        start = i + 1;
      } else if (punct && is_bert_punctuation(c)) {
        if (start < i) out.push_back({start, i});
        if (keep_punct) out.push_back({i, i + 1});
        start = i + 1;
      }
    }
    if (start < sp.end) out.push_back({start, sp.end});
  }
}

}  // namespace

PreTokenizer PreTokenizer::bert() {
  PreTokenizer p;
  p.steps_.push_back(Kind::Bert);
  return p;
}

PreTokenizer PreTokenizer::from_json(const Json& j, const std::string& source) {
  PreTokenizer p;
  if (!j.is_null()) p.parse_into(j, source, "pre_tokenizer");
  return p;
}

void PreTokenizer::parse_into(const Json& j, const std::string& source, const std::string& path) {
  const std::string type = get_type(j, source, path);
  if (type == "BertPreTokenizer") {
    steps_.push_back(Kind::Bert);
  } else if (type == "WhitespaceSplit") {
    steps_.push_back(Kind::WhitespaceSplit);
  } else if (type == "Punctuation") {
    const std::string behavior = get_string(j, "behavior", "Isolated", source, path);
    if (behavior == "Isolated") {
      steps_.push_back(Kind::PunctuationIsolated);
    } else if (behavior == "Removed") {
      steps_.push_back(Kind::PunctuationRemoved);
    } else {
      fail(source, path + ".behavior", "unsupported Punctuation behavior '" + behavior + "'");
    }
  } else if (type == "Sequence") {
    auto it = j.find("pretokenizers");
    if (it == j.end() || !it->is_array()) fail(source, path + ".pretokenizers", "missing or not an array");
    for (size_t i = 0; i < it->size(); ++i)
      parse_into((*it)[i], source, path + ".pretokenizers[" + std::to_string(i) + "]");
  } else {
    fail(source, path + ".type", "unsupported pre-tokenizer '" + type + "'");
  }
}

void PreTokenizer::split(const U32& s, uint32_t begin, uint32_t end, std::vector<Span>& out,
                         std::vector<Span>& tmp) const {
  out.clear();
  if (begin >= end) return;
  out.push_back({begin, end});
  for (Kind k : steps_) {
    split_step(k, s, out, tmp);
    out.swap(tmp);
  }
}

}  // namespace rerank::tok

// normalizer.cpp — BertNormalizer and friends, as tokenizers' normalizers/{bert,unicode,strip,utils}.rs behave.
#include "tokenizer/normalizer.hpp"

#include <utility>

namespace rerank::tok {

namespace {

// clean_text: drop NUL, U+FFFD and control characters, then map whitespace to ' '.
void clean_text(U32& s) {
  size_t w = 0;
  for (char32_t c : s) {
    if (c == 0 || c == 0xFFFD || is_bert_control(c)) continue;
    s[w++] = is_whitespace(c) ? U' ' : c;
  }
  s.resize(w);
}

void pad_chinese_chars(U32& s, U32& tmp) {
  bool any = false;
  for (char32_t c : s) {
    if (c >= 0x3400 && is_chinese_char(c)) {
      any = true;
      break;
    }
  }
  if (!any) return;
  tmp.clear();
  tmp.reserve(s.size() + 16);
  for (char32_t c : s) {
    if (c >= 0x3400 && is_chinese_char(c)) {
      tmp.push_back(U' ');
      tmp.push_back(c);
      tmp.push_back(U' ');
    } else {
      tmp.push_back(c);
    }
  }
  s.swap(tmp);
}

template <class Pred>
void remove_if_pred(U32& s, Pred pred) {
  size_t w = 0;
  for (char32_t c : s)
    if (!pred(c)) s[w++] = c;
  s.resize(w);
}

void lowercase(U32& s, U32& tmp) {
  bool simple = true;
  for (char32_t& c : s) {
    if (c < 0x80) {
      if (c >= 'A' && c <= 'Z') c += 32;
    } else if (c == 0x130) {
      simple = false;
      break;
    } else {
      c = lower_simple(c);
    }
  }
  if (simple) return;
  tmp.clear();
  tmp.reserve(s.size() + 4);
  for (char32_t c : s) append_lowercase(c, tmp);
  s.swap(tmp);
}

// The BertNormalizer on ASCII text: only clean_text and lowercase can change anything, done in one pass.
// Returns false (leaving `s` unchanged) when `s` has non-ASCII characters.
bool bert_ascii_fast_path(const NormStep& st, U32& s) {
  for (char32_t c : s)
    if (c >= 0x80) return false;
  size_t w = 0;
  for (char32_t c : s) {
    if (st.clean_text) {
      if (is_bert_control(c) || c == 0) continue;
      if (is_whitespace(c)) c = U' ';
    }
    if (st.lowercase && c >= 'A' && c <= 'Z') c += 32;
    s[w++] = c;
  }
  s.resize(w);
  return true;
}

}  // namespace

Normalizer Normalizer::bert(bool clean, bool chinese, bool strip, bool lower) {
  Normalizer n;
  NormStep st;
  st.kind = NormStep::Kind::Bert;
  st.clean_text = clean;
  st.handle_chinese_chars = chinese;
  st.strip_accents = strip;
  st.lowercase = lower;
  n.steps_.push_back(st);
  return n;
}

Normalizer Normalizer::from_json(const Json& j, const std::string& source) {
  Normalizer n;
  if (!j.is_null()) n.parse_into(j, source, "normalizer");
  return n;
}

void Normalizer::parse_into(const Json& j, const std::string& source, const std::string& path) {
  const std::string type = get_type(j, source, path);
  NormStep st;
  if (type == "BertNormalizer") {
    st.kind = NormStep::Kind::Bert;
    st.clean_text = get_bool(j, "clean_text", true, source, path);
    st.handle_chinese_chars = get_bool(j, "handle_chinese_chars", true, source, path);
    st.lowercase = get_bool(j, "lowercase", true, source, path);
    st.strip_accents = get_bool(j, "strip_accents", st.lowercase, source, path);
  } else if (type == "Lowercase") {
    st.kind = NormStep::Kind::Lowercase;
  } else if (type == "StripAccents") {
    st.kind = NormStep::Kind::StripAccents;
  } else if (type == "NFD" || type == "NFC" || type == "NFKD" || type == "NFKC") {
    st.kind = NormStep::Kind::Form;
    st.form = type == "NFD" ? NormForm::NFD : type == "NFC" ? NormForm::NFC : type == "NFKD" ? NormForm::NFKD
                                                                                               : NormForm::NFKC;
  } else if (type == "Sequence") {
    auto it = j.find("normalizers");
    if (it == j.end() || !it->is_array()) fail(source, path + ".normalizers", "missing or not an array");
    for (size_t i = 0; i < it->size(); ++i)
      parse_into((*it)[i], source, path + ".normalizers[" + std::to_string(i) + "]");
    return;
  } else {
    fail(source, path + ".type", "unsupported normalizer '" + type + "'");
  }
  steps_.push_back(st);
}

void Normalizer::apply(U32& s, U32& tmp) const {
  for (const NormStep& st : steps_) {
    switch (st.kind) {
      case NormStep::Kind::Bert:
        if (bert_ascii_fast_path(st, s)) break;
        if (st.clean_text) clean_text(s);
        if (st.handle_chinese_chars) pad_chinese_chars(s, tmp);
        if (st.strip_accents) {
          normalize_form(s, NormForm::NFD);
          remove_if_pred(s, is_nonspacing_mark);
        }
        if (st.lowercase) lowercase(s, tmp);
        break;
      case NormStep::Kind::Lowercase:
        lowercase(s, tmp);
        break;
      case NormStep::Kind::StripAccents:
        remove_if_pred(s, is_mark);
        break;
      case NormStep::Kind::Form:
        normalize_form(s, st.form);
        break;
    }
  }
}

}  // namespace rerank::tok

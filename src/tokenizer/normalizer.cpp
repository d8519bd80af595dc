// normalizer.cpp — BertNormalizer and friends, as tokenizers' normalizers/{bert,unicode,strip,utils,replace}.rs
// behave, and the registry of normalizer types.
#include "tokenizer/normalizer.hpp"

#include <utility>

#include "tokenizer/regex.hpp"

namespace rerank::tok {

namespace {

// clean_text: drop NUL, U+FFFD and control characters, then map whitespace to ' '.
void clean_text(U32& s, size_t& lead) {
  size_t w = 0, kept_lead = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char32_t c = s[i];
    if (c == 0 || c == 0xFFFD || is_bert_control(c)) continue;
    kept_lead += i < lead;
    s[w++] = is_whitespace(c) ? U' ' : c;
  }
  s.resize(w);
  lead = kept_lead;
}

void pad_chinese_chars(U32& s, U32& tmp, size_t& lead) {
  bool any = false;
  for (char32_t c : s) {
    if (c >= 0x3400 && is_chinese_char(c)) {
      any = true;
      break;
    }
  }
  if (!any) return;
  size_t new_lead = 0;
  for (size_t i = 0; i < lead && i < s.size(); ++i) new_lead += s[i] >= 0x3400 && is_chinese_char(s[i]) ? 3 : 1;
  lead = new_lead;
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

// Removes the characters matching `pred` (kept characters keep their alignment).
template <class Pred>
void remove_if_pred(U32& s, Pred pred, size_t& lead) {
  size_t w = 0, kept_lead = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (pred(s[i])) continue;
    kept_lead += i < lead;
    s[w++] = s[i];
  }
  s.resize(w);
  lead = kept_lead;
}

// A Unicode normalization form; the first `lead` characters become as many as their own normalization has.
void normalize_form_lead(U32& s, NormForm form, size_t& lead) {
  const bool all = lead >= s.size();
  if (lead > 0 && !all) {
    U32 head(s, 0, lead);
    normalize_form(head, form);
    lead = head.size();
  }
  normalize_form(s, form);
  if (all || lead > s.size()) lead = s.size();
}

void lowercase(U32& s, U32& tmp, size_t& lead) {
  for (size_t i = 0; i < lead && i < s.size(); ++i) lead += s[i] == 0x130;  // İ -> i + U+0307
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
struct BertNorm;
bool bert_ascii_fast_path(const BertNorm& st, U32& s, size_t& lead);

struct BertNorm final : NormStep {
  bool clean_text = true;
  bool handle_chinese_chars = true;
  bool strip_accents = true;  ///< already resolved: null follows lowercase
  bool lowercase = true;
  void apply(U32& s, U32& tmp, size_t& lead) const override {
    if (bert_ascii_fast_path(*this, s, lead)) return;
    if (clean_text) tok::clean_text(s, lead);
    if (handle_chinese_chars) pad_chinese_chars(s, tmp, lead);
    if (strip_accents) {
      normalize_form_lead(s, NormForm::NFD, lead);
      remove_if_pred(s, is_nonspacing_mark, lead);
    }
    if (lowercase) tok::lowercase(s, tmp, lead);
  }
};

bool bert_ascii_fast_path(const BertNorm& st, U32& s, size_t& lead) {
  for (char32_t c : s)
    if (c >= 0x80) return false;
  size_t w = 0, kept_lead = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char32_t c = s[i];
    if (st.clean_text) {
      if (is_bert_control(c) || c == 0) continue;
      if (is_whitespace(c)) c = U' ';
    }
    if (st.lowercase && c >= 'A' && c <= 'Z') c += 32;
    kept_lead += i < lead;
    s[w++] = c;
  }
  s.resize(w);
  lead = kept_lead;
  return true;
}


struct LowercaseNorm final : NormStep {
  void apply(U32& s, U32& tmp, size_t& lead) const override { lowercase(s, tmp, lead); }
};

struct StripAccentsNorm final : NormStep {
  void apply(U32& s, U32&, size_t& lead) const override { remove_if_pred(s, is_mark, lead); }
};

struct FormNorm final : NormStep {
  NormForm form;
  explicit FormNorm(NormForm f) : form(f) {}
  void apply(U32& s, U32&, size_t& lead) const override { normalize_form_lead(s, form, lead); }
};

// Strip: removes leading and/or trailing whitespace (Rust char::is_whitespace).
struct StripNorm final : NormStep {
  bool left = true, right = true;
  void apply(U32& s, U32&, size_t& lead) const override {
    size_t b = 0, e = s.size();
    if (right)
      while (e > b && is_whitespace(s[e - 1])) --e;
    if (left)
      while (b < e && is_whitespace(s[b])) ++b;
    if (e < s.size()) s.resize(e);
    if (b > 0) s.erase(0, b);
    lead = lead > b ? std::min(lead - b, s.size()) : 0;
  }
};

// Prepend: adds a prefix to a non-empty text.
struct PrependNorm final : NormStep {
  U32 prefix;
  void apply(U32& s, U32&, size_t& lead) const override {
    if (s.empty()) return;
    s.insert(0, prefix);
    lead += prefix.size();  // inserted at offset 0: aligned with (0, 0)
  }
};

// Replace: every non-overlapping match (left to right) of a literal string or a regex is replaced by `content`.
struct ReplaceNorm final : NormStep {
  U32 literal;
  std::unique_ptr<Regex> regex;
  U32 content;

  // tokenizers aligns every replacement character with the last matched character (an empty match: with the
  // character before it, or (0, 0) at the start): the new count of leading characters aligned with offset 0.
  static size_t replaced_lead_of(const std::vector<Match>& matches, size_t lead, size_t content_size) {
    size_t out = 0;
    uint32_t pos = 0;
    for (const Match& m : matches) {
      const size_t copied_z = std::min<size_t>(m.begin, lead) > pos ? std::min<size_t>(m.begin, lead) - pos : 0;
      out += copied_z;
      if (pos + copied_z < m.begin) return out;  // a copied character not aligned with 0
      const bool z = m.end > m.begin ? m.end - 1 < lead : (m.begin == 0 || m.begin - 1 < lead);
      if (z) {
        out += content_size;
      } else if (content_size > 0) {
        return out;
      }
      pos = m.end;
    }
    return out + (lead > pos ? lead - pos : 0);
  }

  void apply(U32& s, U32& tmp, size_t& lead) const override {
    thread_local std::vector<Match> matches;
    matches.clear();
    if (regex) {
      regex->find_all(s, 0, static_cast<uint32_t>(s.size()), matches);
    } else if (!literal.empty()) {
      for (size_t at = s.find(literal); at != U32::npos; at = s.find(literal, at + literal.size()))
        matches.push_back({static_cast<uint32_t>(at), static_cast<uint32_t>(at + literal.size())});
    }
    if (matches.empty()) return;
    lead = replaced_lead_of(matches, lead, content.size());
    tmp.clear();
    uint32_t pos = 0;
    for (const Match& m : matches) {
      tmp.append(s, pos, m.begin - pos);
      tmp += content;
      pos = m.end;
    }
    tmp.append(s, pos, U32::npos);
    s.swap(tmp);
  }
};

U32 utf32(const std::string& utf8) {
  U32 out;
  decode_utf8(utf8, out);
  return out;
}

std::unique_ptr<NormStep> parse_bert(const Json& j, const std::string& source, const std::string& path) {
  auto st = std::make_unique<BertNorm>();
  st->clean_text = get_bool(j, "clean_text", true, source, path);
  st->handle_chinese_chars = get_bool(j, "handle_chinese_chars", true, source, path);
  st->lowercase = get_bool(j, "lowercase", true, source, path);
  st->strip_accents = get_bool(j, "strip_accents", st->lowercase, source, path);
  return st;
}

template <NormForm F>
std::unique_ptr<NormStep> parse_form(const Json&, const std::string&, const std::string&) {
  return std::make_unique<FormNorm>(F);
}

std::unique_ptr<NormStep> parse_lowercase(const Json&, const std::string&, const std::string&) {
  return std::make_unique<LowercaseNorm>();
}

std::unique_ptr<NormStep> parse_strip_accents(const Json&, const std::string&, const std::string&) {
  return std::make_unique<StripAccentsNorm>();
}

std::unique_ptr<NormStep> parse_strip(const Json& j, const std::string& source, const std::string& path) {
  auto st = std::make_unique<StripNorm>();
  st->left = get_bool(j, "strip_left", true, source, path);
  st->right = get_bool(j, "strip_right", true, source, path);
  return st;
}

std::unique_ptr<NormStep> parse_prepend(const Json& j, const std::string& source, const std::string& path) {
  auto it = j.find("prepend");
  if (it == j.end() || !it->is_string()) fail(source, path + ".prepend", "missing or not a string");
  auto st = std::make_unique<PrependNorm>();
  st->prefix = utf32(it->get<std::string>());
  return st;
}

std::unique_ptr<NormStep> parse_replace(const Json& j, const std::string& source, const std::string& path) {
  auto st = std::make_unique<ReplaceNorm>();
  auto c = j.find("content");
  if (c == j.end() || !c->is_string()) fail(source, path + ".content", "missing or not a string");
  st->content = utf32(c->get<std::string>());
  auto p = j.find("pattern");
  if (p != j.end() && p->is_object() && p->contains("String") && (*p)["String"].is_string()) {
    st->literal = utf32((*p)["String"].get<std::string>());
  } else if (p != j.end() && p->is_object() && p->contains("Regex") && (*p)["Regex"].is_string()) {
    st->regex = std::make_unique<Regex>((*p)["Regex"].get<std::string>(), source, path + ".pattern.Regex");
  } else {
    fail(source, path + ".pattern", "expected {\"String\": ...} or {\"Regex\": ...}");
  }
  return st;
}

struct NormEntry {
  const char* type;
  NormParser parse;
};

const NormEntry kNormalizers[] = {
    {"BertNormalizer", &parse_bert},
    {"Lowercase", &parse_lowercase},
    {"StripAccents", &parse_strip_accents},
    {"NFD", &parse_form<NormForm::NFD>},
    {"NFC", &parse_form<NormForm::NFC>},
    {"NFKD", &parse_form<NormForm::NFKD>},
    {"NFKC", &parse_form<NormForm::NFKC>},
    {"Strip", &parse_strip},
    {"Prepend", &parse_prepend},
    {"Replace", &parse_replace},
    {"Precompiled", &parse_precompiled},
};

}  // namespace

Normalizer Normalizer::bert(bool clean, bool chinese, bool strip, bool lower) {
  auto st = std::make_shared<BertNorm>();
  st->clean_text = clean;
  st->handle_chinese_chars = chinese;
  st->strip_accents = strip;
  st->lowercase = lower;
  Normalizer n;
  n.steps_.push_back(std::move(st));
  return n;
}

Normalizer Normalizer::from_json(const Json& j, const std::string& source) {
  Normalizer n;
  if (!j.is_null()) n.parse_into(j, source, "normalizer");
  return n;
}

void Normalizer::parse_into(const Json& j, const std::string& source, const std::string& path) {
  const std::string type = get_type(j, source, path);
  if (type == "Sequence") {
    auto it = j.find("normalizers");
    if (it == j.end() || !it->is_array()) fail(source, path + ".normalizers", "missing or not an array");
    for (size_t i = 0; i < it->size(); ++i)
      parse_into((*it)[i], source, path + ".normalizers[" + std::to_string(i) + "]");
    return;
  }
  std::string supported = "Sequence";
  for (const NormEntry& e : kNormalizers) {
    if (type == e.type) {
      steps_.push_back(e.parse(j, source, path));
      return;
    }
    supported += std::string(", ") + e.type;
  }
  fail(source, path + ".type", "unsupported normalizer '" + type + "' (supported: " + supported + ")");
}

}  // namespace rerank::tok

// template.cpp — TemplateProcessing / BertProcessing and the LongestFirst truncation rule of tokenizers
// (processors/template.rs, utils/truncation.rs, tokenizer/mod.rs post_process).
//
// Truncation budget: max_length minus the template's special tokens. When max_length is smaller than the number
// of special tokens, the content is removed entirely and the special tokens are kept, so the result is longer than
// max_length (Hugging Face instead skips truncation altogether in that case; we never return more content than
// asked for).
#include "tokenizer/template.hpp"

#include <algorithm>
#include <cstdint>
#include <map>
#include <utility>

namespace rerank::tok {

void truncate_longest_first(std::vector<int32_t>& a, std::vector<int32_t>* b, size_t budget) {
  if (!b) {
    if (a.size() > budget) a.resize(budget);
    return;
  }
  if (a.size() + b->size() <= budget) return;
  // With n1 the shorter length and n2 the longer: keep the shorter whole if the longer still gets at least
  // half of the budget, otherwise split the budget in two halves (the odd token going to the longer one).
  size_t n1 = a.size(), n2 = b->size();
  const bool swapped = n1 > n2;
  if (swapped) std::swap(n1, n2);
  if (n1 > budget) {
    n2 = n1;
  } else {
    n2 = std::max(n1, budget - n1);
  }
  if (n1 + n2 > budget) {
    n1 = budget / 2;
    n2 = n1 + budget % 2;
  }
  if (swapped) std::swap(n1, n2);
  if (a.size() > n1) a.resize(n1);
  if (b->size() > n2) b->resize(n2);
}

namespace {

using SpecialMap = std::map<std::string, std::pair<std::vector<int32_t>, std::vector<std::string>>>;

TemplatePiece parse_piece(const Json& j, const SpecialMap& specials, const std::string& source,
                          const std::string& path) {
  TemplatePiece p;
  auto parse_type = [&](const Json& obj, const std::string& field) {
    auto it = obj.find("type_id");
    if (it == obj.end() || it->is_null()) return int32_t{0};
    if (!it->is_number_unsigned()) fail(source, field + ".type_id", "expected a non-negative integer");
    return static_cast<int32_t>(it->get<uint32_t>());
  };
  if (j.is_object() && j.contains("SpecialToken")) {
    const Json& st = j["SpecialToken"];
    const std::string id = get_string(st, "id", "", source, path + ".SpecialToken");
    auto it = specials.find(id);
    if (it == specials.end()) fail(source, path + ".SpecialToken.id", "'" + id + "' is not in special_tokens");
    p.special = true;
    p.ids = it->second.first;
    p.tokens = it->second.second;
    p.type_id = parse_type(st, path + ".SpecialToken");
  } else if (j.is_object() && j.contains("Sequence")) {
    const Json& sq = j["Sequence"];
    const std::string id = get_string(sq, "id", "A", source, path + ".Sequence");
    if (id != "A" && id != "B") fail(source, path + ".Sequence.id", "expected \"A\" or \"B\"");
    p.sequence = id == "A" ? 0 : 1;
    p.type_id = parse_type(sq, path + ".Sequence");
  } else {
    fail(source, path, "expected a SpecialToken or Sequence object");
  }
  return p;
}

// BertProcessing's / RobertaProcessing's `cls` and `sep`: [token, id].
std::pair<std::string, int32_t> bracket_token(const Json& j, const char* key, const std::string& source,
                                              const std::string& path) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_array() || it->size() != 2 || !(*it)[0].is_string() ||
      !(*it)[1].is_number_unsigned() || (*it)[1].get<uint64_t>() > INT32_MAX / 2)
    fail(source, path + "." + key, "expected [token, id]");
  return {(*it)[0].get<std::string>(), static_cast<int32_t>((*it)[1].get<uint64_t>())};
}

// The string form of a template: "[CLS] $A [SEP] $B:1 [SEP]:1".
std::vector<TemplatePiece> parse_template_string(const std::string& s, const SpecialMap& specials,
                                                 const std::string& source, const std::string& path) {
  std::vector<TemplatePiece> out;
  size_t pos = 0;
  while (pos < s.size()) {
    while (pos < s.size() && s[pos] == ' ') ++pos;
    size_t end = s.find(' ', pos);
    if (end == std::string::npos) end = s.size();
    if (end == pos) break;
    std::string word = s.substr(pos, end - pos);
    pos = end;
    TemplatePiece p;
    const size_t colon = word.rfind(':');
    if (colon != std::string::npos && colon + 1 < word.size() &&
        word.find_first_not_of("0123456789", colon + 1) == std::string::npos) {
      p.type_id = static_cast<int32_t>(std::stoul(word.substr(colon + 1)));
      word.resize(colon);
    }
    if (word == "$A" || word == "$" || word == "$0") {
      p.sequence = 0;
    } else if (word == "$B" || word == "$1") {
      p.sequence = 1;
    } else {
      auto it = specials.find(word);
      if (it == specials.end()) fail(source, path, "'" + word + "' is not in special_tokens");
      p.special = true;
      p.ids = it->second.first;
      p.tokens = it->second.second;
    }
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace

void PostProcessor::set_templates(std::vector<TemplatePiece> single, std::vector<TemplatePiece> pair) {
  single_ = std::move(single);
  pair_ = std::move(pair);
  n_single_ = n_pair_ = 0;
  for (const auto& p : single_) n_single_ += p.ids.size();
  for (const auto& p : pair_) n_pair_ += p.ids.size();
}

PostProcessor PostProcessor::bert(const std::string& cls, int32_t cls_id, const std::string& sep, int32_t sep_id) {
  PostProcessor pp;
  TemplatePiece c{true, 0, {cls_id}, {cls}, 0};
  TemplatePiece s0{true, 0, {sep_id}, {sep}, 0};
  TemplatePiece s1{true, 0, {sep_id}, {sep}, 1};
  TemplatePiece a{false, 0, {}, {}, 0};
  TemplatePiece b{false, 1, {}, {}, 1};
  pp.set_templates({c, a, s0}, {c, a, s0, b, s1});
  return pp;
}

PostProcessor PostProcessor::from_json(const Json& j, const std::string& source) {
  PostProcessor pp;
  if (j.is_null()) {
    pp.set_templates({TemplatePiece{false, 0, {}, {}, 0}},
                     {TemplatePiece{false, 0, {}, {}, 0}, TemplatePiece{false, 1, {}, {}, 1}});
    return pp;
  }
  const std::string path = "post_processor";
  const std::string type = get_type(j, source, path);
  if (type == "TemplateProcessing") {
    SpecialMap specials;
    auto st = j.find("special_tokens");
    if (st != j.end() && !st->is_null()) {
      if (!st->is_object()) fail(source, path + ".special_tokens", "expected an object");
      for (auto it = st->begin(); it != st->end(); ++it) {
        const std::string field = path + ".special_tokens." + it.key();
        const Json& v = it.value();
        if (!v.is_object() || !v.contains("ids") || !v["ids"].is_array())
          fail(source, field + ".ids", "missing or not an array");
        std::vector<int32_t> ids;
        for (const Json& id : v["ids"]) {
          if (!id.is_number_unsigned()) fail(source, field + ".ids", "expected non-negative integers");
          ids.push_back(static_cast<int32_t>(id.get<uint32_t>()));
        }
        std::vector<std::string> toks;
        if (v.contains("tokens") && v["tokens"].is_array())
          for (const Json& t : v["tokens"]) toks.push_back(t.is_string() ? t.get<std::string>() : std::string());
        toks.resize(ids.size());
        const std::string key = v.contains("id") && v["id"].is_string() ? v["id"].get<std::string>() : it.key();
        specials[key] = {std::move(ids), std::move(toks)};
      }
    }
    auto parse_tpl = [&](const char* key) {
      const std::string field = path + "." + key;
      auto it = j.find(key);
      if (it == j.end() || it->is_null()) fail(source, field, "missing");
      if (it->is_string()) return parse_template_string(it->get<std::string>(), specials, source, field);
      if (!it->is_array()) fail(source, field, "expected an array or a string");
      std::vector<TemplatePiece> out;
      for (size_t i = 0; i < it->size(); ++i)
        out.push_back(parse_piece((*it)[i], specials, source, field + "[" + std::to_string(i) + "]"));
      return out;
    };
    pp.set_templates(parse_tpl("single"), parse_tpl("pair"));
  } else if (type == "BertProcessing") {
    const auto cls = bracket_token(j, "cls", source, path);
    const auto sep = bracket_token(j, "sep", source, path);
    pp = bert(cls.first, cls.second, sep.first, sep.second);
  } else if (type == "RobertaProcessing") {
    // `<s> A </s>` / `<s> A </s> </s> B </s>`, every type id 0 (processors/roberta.rs).
    const auto cls = bracket_token(j, "cls", source, path);
    const auto sep = bracket_token(j, "sep", source, path);
    TemplatePiece c{true, 0, {cls.second}, {cls.first}, 0};
    TemplatePiece s{true, 0, {sep.second}, {sep.first}, 0};
    TemplatePiece a{false, 0, {}, {}, 0};
    TemplatePiece b{false, 1, {}, {}, 0};
    pp.set_templates({c, a, s}, {c, a, s, s, b, s});
  } else if (type == "ByteLevel") {
    pp = from_json(Json(nullptr), source);  // offsets only; ids are those of no post-processor
  } else if (type == "Sequence") {
    auto it = j.find("processors");
    if (it == j.end() || !it->is_array()) fail(source, path + ".processors", "missing or not an array");
    pp = from_json(Json(nullptr), source);
    for (const Json& p : *it) {
      const std::string t = get_type(p, source, path + ".processors[]");
      if (t == "ByteLevel") continue;  // offsets only; ids are unchanged
      pp = from_json(p, source);
    }
  } else {
    fail(source, path + ".type", "unsupported post-processor '" + type + "'");
  }
  return pp;
}

void PostProcessor::process(std::vector<int32_t>& a, std::vector<int32_t>* b, size_t max_length,
                            const std::vector<std::string>& vocab, Encoding& out) const {
  const std::vector<TemplatePiece>& tpl = b ? pair_ : single_;
  const size_t n_special = b ? n_pair_ : n_single_;
  if (max_length > 0) truncate_longest_first(a, b, max_length > n_special ? max_length - n_special : 0);
  const size_t total = n_special + a.size() + (b ? b->size() : 0);
  out.ids.clear();
  out.type_ids.clear();
  out.tokens.clear();
  out.ids.reserve(total);
  out.type_ids.reserve(total);
  out.tokens.reserve(total);
  for (const TemplatePiece& p : tpl) {
    if (p.special) {
      out.ids.insert(out.ids.end(), p.ids.begin(), p.ids.end());
      out.type_ids.insert(out.type_ids.end(), p.ids.size(), p.type_id);
      out.tokens.insert(out.tokens.end(), p.tokens.begin(), p.tokens.end());
    } else {
      const std::vector<int32_t>* seq = p.sequence == 0 ? &a : b;
      if (!seq) continue;  // $B in a single template: nothing to insert
      out.ids.insert(out.ids.end(), seq->begin(), seq->end());
      out.type_ids.insert(out.type_ids.end(), seq->size(), p.type_id);
      for (int32_t id : *seq)
        out.tokens.push_back(id >= 0 && static_cast<size_t>(id) < vocab.size() ? vocab[static_cast<size_t>(id)]
                                                                                 : std::string());
    }
  }
}

}  // namespace rerank::tok

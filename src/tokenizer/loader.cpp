// loader.cpp — building Tokenizer::Impl from tokenizer.json, or from vocab.txt + tokenizer_config.json the way
// transformers' BertTokenizer is converted to a fast tokenizer (BertNormalizer, BertPreTokenizer, WordPiece with
// "##" and 100 chars per word, template "[CLS] $A [SEP]" / "[CLS] $A [SEP] $B:1 [SEP]:1").
#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

#include "util/files.hpp"
#include "tokenizer/impl.hpp"
#include "tokenizer/wordpiece.hpp"

namespace rerank {

namespace tok {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ModelError(path.string() + ": cannot open file");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw ModelError(path.string() + ": read error");
  return ss.str();
}

namespace {

Json parse_json(std::string_view text, const std::string& source) {
  try {
    return util::parse_json(text);
  } catch (const Json::exception& e) {
    throw ModelError(source + ": invalid JSON: " + e.what());
  }
}

AddedToken parse_added_token(const Json& j, const std::string& source, const std::string& path) {
  if (!j.is_object()) fail(source, path, "expected an object");
  AddedToken t;
  auto id = j.find("id");
  if (id == j.end() || !id->is_number_unsigned() || id->get<uint64_t>() > INT32_MAX / 2)
    fail(source, path + ".id", "missing or not a non-negative integer");
  t.id = static_cast<int32_t>(id->get<uint64_t>());
  t.content = get_string(j, "content", "", source, path);
  t.single_word = get_bool(j, "single_word", false, source, path);
  t.lstrip = get_bool(j, "lstrip", false, source, path);
  t.rstrip = get_bool(j, "rstrip", false, source, path);
  t.special = get_bool(j, "special", false, source, path);
  t.normalized = get_bool(j, "normalized", !t.special, source, path);
  return t;
}

// A token in tokenizer_config.json / special_tokens_map.json: a string or {"content": ...}.
std::string config_token(const Json& cfg, const char* key, const std::string& def) {
  auto it = cfg.find(key);
  if (it == cfg.end()) return def;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
    return (*it)["content"].get<std::string>();
  return def;
}

}  // namespace

std::unique_ptr<Tokenizer::Impl> load_tokenizer_json(std::string_view text, const std::string& source) {
  const Json root = parse_json(text, source);
  if (!root.is_object()) throw ModelError(source + ": expected a JSON object at the top level");
  auto impl = std::make_unique<Tokenizer::Impl>();

  auto model = root.find("model");
  if (model == root.end() || !model->is_object()) fail(source, "model", "missing or not an object");
  impl->model = model_from_json(*model, source);

  auto section = [&](const char* key) -> const Json& {
    static const Json null_json;
    auto it = root.find(key);
    return it == root.end() ? null_json : *it;
  };
  impl->normalizer = Normalizer::from_json(section("normalizer"), source);
  impl->pre_tokenizer = PreTokenizer::from_json(section("pre_tokenizer"), source);
  impl->post = PostProcessor::from_json(section("post_processor"), source);

  std::vector<AddedToken> added;
  const Json& at = section("added_tokens");
  if (!at.is_null()) {
    if (!at.is_array()) fail(source, "added_tokens", "expected an array");
    for (size_t i = 0; i < at.size(); ++i)
      added.push_back(parse_added_token(at[i], source, "added_tokens[" + std::to_string(i) + "]"));
  }
  // As tokenizers' AddedVocabulary: a content the model's vocabulary has takes the model's id.
  for (AddedToken& t : added) {
    const int32_t id = impl->model->token_to_id(t.content);
    if (id >= 0) t.id = id;
  }
  for (const AddedToken& t : added) impl->add_token(t);
  impl->finish_vocab(added);

  int32_t pad = impl->token_to_id("[PAD]");
  const Json& padding = section("padding");
  if (padding.is_object() && padding.contains("pad_id") && padding["pad_id"].is_number_unsigned())
    pad = static_cast<int32_t>(padding["pad_id"].get<uint32_t>());
  impl->pad_id = pad < 0 ? 0 : pad;
  return impl;
}

std::unique_ptr<Tokenizer::Impl> load_vocab_txt(const std::filesystem::path& dir) {
  const std::filesystem::path vocab_path = dir / "vocab.txt";
  const std::string source = vocab_path.string();
  const std::string text = read_file(vocab_path);

  // One token per line; ids are line numbers. Lines end with \n, \r\n or \r (Python's universal newlines, as
  // transformers reads the file); a later duplicate overrides an earlier one.
  VocabMap vocab;
  int32_t line = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find_first_of("\r\n", pos);
    const size_t stop = end == std::string::npos ? text.size() : end;
    vocab[text.substr(pos, stop - pos)] = line++;
    if (end == std::string::npos) break;
    pos = end + 1;
    if (text[end] == '\r' && pos < text.size() && text[pos] == '\n') ++pos;
  }

  Json cfg = Json::object();
  const std::filesystem::path cfg_path = dir / "tokenizer_config.json";
  if (std::filesystem::exists(cfg_path)) {
    cfg = parse_json(read_file(cfg_path), cfg_path.string());
    if (!cfg.is_object()) throw ModelError(cfg_path.string() + ": expected a JSON object at the top level");
  }
  Json smap = Json::object();
  const std::filesystem::path smap_path = dir / "special_tokens_map.json";
  if (std::filesystem::exists(smap_path)) {
    smap = parse_json(read_file(smap_path), smap_path.string());
    if (!smap.is_object()) smap = Json::object();
  }
  const std::string cfg_name = cfg_path.string();
  auto special = [&](const char* key, const char* def) {
    return config_token(smap, key, config_token(cfg, key, def));
  };
  const bool lower = get_bool(cfg, "do_lower_case", true, cfg_name, "tokenizer_config");
  const bool chinese = get_bool(cfg, "tokenize_chinese_chars", true, cfg_name, "tokenizer_config");
  const bool strip = get_bool(cfg, "strip_accents", lower, cfg_name, "tokenizer_config");
  const std::string unk = special("unk_token", "[UNK]");
  const std::string cls = special("cls_token", "[CLS]");
  const std::string sep = special("sep_token", "[SEP]");
  const std::string pad = special("pad_token", "[PAD]");
  const std::string mask = special("mask_token", "[MASK]");

  auto impl = std::make_unique<Tokenizer::Impl>();
  auto wordpiece = WordPiece::from_vocab(std::move(vocab), unk, source);
  const WordPiece& wp = *wordpiece;
  impl->model = std::move(wordpiece);
  impl->normalizer = Normalizer::bert(true, chinese, strip, lower);
  impl->pre_tokenizer = PreTokenizer::bert();
  const int32_t cls_id = wp.token_to_id(cls);
  const int32_t sep_id = wp.token_to_id(sep);
  if (cls_id < 0) fail(cfg_name, "cls_token", "'" + cls + "' is not in " + source);
  if (sep_id < 0) fail(cfg_name, "sep_token", "'" + sep + "' is not in " + source);
  impl->post = PostProcessor::bert(cls, cls_id, sep, sep_id);

  std::vector<AddedToken> added;
  auto dec = cfg.find("added_tokens_decoder");
  if (dec != cfg.end() && dec->is_object()) {
    for (auto it = dec->begin(); it != dec->end(); ++it) {
      Json t = it.value();
      if (!t.is_object()) continue;
      try {
        t["id"] = std::stoul(it.key());
      } catch (const std::exception&) {
        fail(cfg_name, "added_tokens_decoder." + it.key(), "key is not a token id");
      }
      added.push_back(parse_added_token(t, cfg_name, "added_tokens_decoder." + it.key()));
    }
  }
  for (const std::string& s : {unk, sep, pad, cls, mask}) {
    const int32_t id = wp.token_to_id(s);
    bool known = false;
    for (const AddedToken& t : added) known = known || t.content == s;
    if (id < 0 || known) continue;
    AddedToken t;
    t.content = s;
    t.id = id;
    t.special = true;
    added.push_back(std::move(t));
  }
  for (const AddedToken& t : added) impl->add_token(t);
  impl->finish_vocab(added);
  const int32_t pad_id = wp.token_to_id(pad);
  impl->pad_id = pad_id < 0 ? 0 : pad_id;
  return impl;
}

}  // namespace tok

void Tokenizer::Impl::add_token(tok::AddedToken t) {
  tok::decode_utf8(t.content, t.chars);
  if (t.normalized) {
    tok::U32 tmp;
    normalizer.apply(t.chars, tmp);
    norm_added.add(std::move(t));
  } else {
    raw_added.add(std::move(t));
  }
}

int32_t Tokenizer::Impl::token_to_id(std::string_view token) const {
  for (const tok::AddedToken& t : added_)
    if (t.content == token) return t.id;
  return model->token_to_id(token);
}

void Tokenizer::Impl::finish_vocab(const std::vector<tok::AddedToken>& added) {
  added_ = added;
  vocab = model->id_to_token();
  for (const tok::AddedToken& t : added) {
    if (t.id < 0) continue;
    const auto id = static_cast<size_t>(t.id);
    if (id >= vocab.size()) vocab.resize(id + 1);
    if (vocab[id].empty()) vocab[id] = t.content;
  }
}

}  // namespace rerank

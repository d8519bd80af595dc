// wordpiece.cpp — WordPiece: a word longer than max_input_chars_per_word is the unknown token; otherwise the
// longest vocabulary prefix is taken repeatedly (pieces after the first carry the continuation prefix), and if
// some remainder matches nothing the whole word becomes the unknown token.
#include "tokenizer/wordpiece.hpp"

#include <algorithm>
#include <utility>

#include "tokenizer/unicode.hpp"

namespace rerank::tok {

namespace {
inline bool is_continuation_byte(char b) { return (static_cast<unsigned char>(b) & 0xC0) == 0x80; }
}  // namespace

std::unique_ptr<Model> WordPiece::parse(const Json& j, const std::string& source) {
  auto owned = std::make_unique<WordPiece>();
  WordPiece& wp = *owned;
  wp.unk_token_ = get_string(j, "unk_token", "[UNK]", source, "model");
  wp.prefix_ = get_string(j, "continuing_subword_prefix", "##", source, "model");
  auto mi = j.find("max_input_chars_per_word");
  if (mi != j.end() && !mi->is_null()) {
    if (!mi->is_number_unsigned()) fail(source, "model.max_input_chars_per_word", "expected a non-negative integer");
    wp.max_input_chars_ = mi->get<size_t>();
  }
  auto vi = j.find("vocab");
  if (vi == j.end() || !vi->is_object()) fail(source, "model.vocab", "missing or not an object");
  if (vi->empty()) fail(source, "model.vocab", "empty vocabulary");
  wp.vocab_.reserve(vi->size());
  for (auto it = vi->begin(); it != vi->end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 ||
        it.value().get<int64_t>() > INT32_MAX / 2)
      fail(source, "model.vocab." + it.key(), "expected a non-negative integer id");
    wp.vocab_[it.key()] = static_cast<int32_t>(it.value().get<int64_t>());
  }
  wp.finish(source);
  return owned;
}

std::unique_ptr<WordPiece> WordPiece::from_vocab(VocabMap vocab, const std::string& unk_token,
                                                 const std::string& source) {
  auto wp = std::make_unique<WordPiece>();
  if (vocab.empty()) fail(source, "vocab", "empty vocabulary");
  wp->vocab_ = std::move(vocab);
  wp->unk_token_ = unk_token;
  wp->finish(source);
  return wp;
}

void WordPiece::finish(const std::string& source) {
  int32_t max_id = -1;
  for (const auto& [tok, id] : vocab_) max_id = std::max(max_id, id);
  id_to_token_.assign(static_cast<size_t>(max_id) + 1, std::string());
  for (const auto& [tok, id] : vocab_) {
    id_to_token_[static_cast<size_t>(id)] = tok;
    max_key_bytes_ = std::max(max_key_bytes_, tok.size());
    if (!prefix_.empty() && tok.size() > prefix_.size() && tok.compare(0, prefix_.size(), prefix_) == 0) {
      cont_.emplace(tok.substr(prefix_.size()), id);
      max_cont_bytes_ = std::max(max_cont_bytes_, tok.size() - prefix_.size());
    }
  }
  if (prefix_.empty()) {
    cont_ = vocab_;
    max_cont_bytes_ = max_key_bytes_;
  }
  unk_id_ = token_to_id(unk_token_);
  if (unk_id_ < 0) fail(source, "model.unk_token", "unknown token '" + unk_token_ + "' is not in the vocabulary");
}

void WordPiece::tokenize(const char32_t* b, const char32_t* e, std::vector<int32_t>& ids) const {
  if (static_cast<size_t>(e - b) > max_input_chars_) {
    ids.push_back(unk_id_);
    return;
  }
  thread_local std::string buf;
  encode_utf8(b, e, buf);
  const size_t size = buf.size();
  const size_t mark = ids.size();
  size_t start = 0;
  while (start < size) {
    const VocabMap& map = start == 0 ? vocab_ : cont_;
    size_t end = std::min(size, start + (start == 0 ? max_key_bytes_ : max_cont_bytes_));
    while (end > start && end < size && is_continuation_byte(buf[end])) --end;  // to a char boundary
    int32_t found = -1;
    while (end > start) {
      auto it = map.find(std::string_view(buf.data() + start, end - start));
      if (it != map.end()) {
        found = it->second;
        break;
      }
      do {
        --end;
      } while (end > start && is_continuation_byte(buf[end]));
    }
    if (found < 0) {
      ids.resize(mark);
      ids.push_back(unk_id_);
      return;
    }
    ids.push_back(found);
    start = end;
  }
}

}  // namespace rerank::tok

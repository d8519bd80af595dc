// wordpiece.hpp — internal: the WordPiece model (greedy longest-match-first), as tokenizers'
// models/wordpiece/mod.rs behaves.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/json_util.hpp"

namespace rerank::tok {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using VocabMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

class WordPiece {
 public:
  /// From the `model` section of tokenizer.json.
  static WordPiece from_json(const Json& j, const std::string& source);
  /// From token -> id pairs (vocab.txt).
  static WordPiece from_vocab(VocabMap vocab, const std::string& unk_token, const std::string& source);

  /// Appends the ids of one word (code points [b, e)); `buf` is scratch space.
  void tokenize_word(const char32_t* b, const char32_t* e, std::string& buf, std::vector<int32_t>& ids) const;

  /// The id of `token`, or -1.
  int32_t token_to_id(std::string_view token) const {
    auto it = vocab_.find(token);
    return it == vocab_.end() ? -1 : it->second;
  }
  size_t size() const { return id_to_token_.size(); }
  const std::vector<std::string>& id_to_token() const { return id_to_token_; }

 private:
  void finish(const std::string& source);

  VocabMap vocab_;
  VocabMap cont_;  ///< continuation pieces keyed without the prefix ("##ing" -> key "ing")
  std::vector<std::string> id_to_token_;
  std::string unk_token_ = "[UNK]";
  std::string prefix_ = "##";
  size_t max_input_chars_ = 100;
  int32_t unk_id_ = -1;
  size_t max_key_bytes_ = 0;
  size_t max_cont_bytes_ = 0;
};

}  // namespace rerank::tok

// wordpiece.hpp — internal: the WordPiece model (greedy longest-match-first), as tokenizers'
// models/wordpiece/mod.rs behaves.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/model.hpp"

namespace rerank::tok {

class WordPiece final : public Model {
 public:
  /// From the `model` section of tokenizer.json.
  static std::unique_ptr<Model> parse(const Json& j, const std::string& source);
  /// From token -> id pairs (vocab.txt).
  static std::unique_ptr<WordPiece> from_vocab(VocabMap vocab, const std::string& unk_token,
                                               const std::string& source);

  void tokenize(const char32_t* b, const char32_t* e, std::vector<int32_t>& ids) const override;
  int32_t token_to_id(std::string_view token) const override {
    auto it = vocab_.find(token);
    return it == vocab_.end() ? -1 : it->second;
  }
  std::vector<std::string> id_to_token() const override { return id_to_token_; }

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

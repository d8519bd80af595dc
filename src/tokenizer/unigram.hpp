// unigram.hpp — internal: the Unigram model (SentencePiece's unigram language model), as tokenizers'
// models/unigram/model.rs `encode_optimized` behaves.
//
// JSON (`model` section): `vocab` [[piece, log-probability], ...] (the id is the index; a duplicated piece maps
// to its last index), `unk_id` (index or null), `byte_fallback` (default false).
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/model.hpp"

namespace rerank::tok {

class Unigram final : public Model {
 public:
  static std::unique_ptr<Model> parse(const Json& j, const std::string& source);

  /// Viterbi segmentation of the word's UTF-8 bytes maximizing the sum of piece scores; a character no piece
  /// starts with costs (lowest score - 10) as the unknown piece; consecutive unknown pieces are fused into one,
  /// which byte_fallback spells as <0xXX> pieces when all of them exist. Throws InputError for a character the
  /// vocabulary cannot cover when the model has no unk_id (tokenizers fails the same way).
  void tokenize(const char32_t* b, const char32_t* e, std::vector<int32_t>& ids) const override;
  int32_t token_to_id(std::string_view token) const override {
    auto it = vocab_.find(token);
    return it == vocab_.end() ? -1 : it->second;
  }
  std::vector<std::string> id_to_token() const override { return pieces_; }

 private:
  /// A byte trie over the pieces, flattened: node n's children are edges_[first_[n], first_[n + 1]), sorted by
  /// byte; id_[n] is the piece ending at node n (last index for duplicates) or -1.
  struct Trie {
    std::vector<uint32_t> first;
    std::vector<std::pair<uint8_t, uint32_t>> edges;
    std::vector<int32_t> id;
    uint32_t child(uint32_t node, uint8_t byte) const;  ///< UINT32_MAX when absent
  };
  void build_trie();
  void emit(std::string_view text, int32_t id, bool unknown, std::vector<int32_t>& ids) const;

  std::vector<std::string> pieces_;
  std::vector<double> scores_;
  VocabMap vocab_;
  Trie trie_;
  std::array<int32_t, 256> byte_ids_{};  ///< id of <0xXX>, or -1
  int32_t unk_id_ = -1;
  bool byte_fallback_ = false;
  double unk_score_ = 0;
};

}  // namespace rerank::tok

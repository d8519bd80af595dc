// impl.hpp — internal: Tokenizer::Impl, the loaded pipeline, as tokenizers' TokenizerImpl runs it:
//   raw text -> added tokens with normalized: false split off (raw_added)
//   -> each remaining piece normalized (Normalizer: a list of NormSteps that rewrite code points)
//   -> added tokens with normalized: true split off (norm_added)
//   -> each remaining piece pre-tokenized into words (PreTokenizer: PreTokSteps over ranges of one buffer,
//      which may split and/or transform the text)
//   -> each word through the Model (WordPiece, Unigram, BPE, ...: model.hpp)
//   -> post-processor (template, truncation).
// Normalizers, pre-tokenizers and models are chosen by their JSON `type` through registry tables (normalizer.cpp,
// pretokenizer.cpp, model.cpp): a new type is one file and one table entry.
#pragma once
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "rerank/tokenizer.hpp"
#include "tokenizer/added_tokens.hpp"
#include "tokenizer/normalizer.hpp"
#include "tokenizer/pretokenizer.hpp"
#include "tokenizer/template.hpp"
#include "tokenizer/model.hpp"

namespace rerank {

struct Tokenizer::Impl {
  tok::Normalizer normalizer;
  tok::PreTokenizer pre_tokenizer;
  std::unique_ptr<tok::Model> model;
  tok::AddedTokenSet raw_added;   ///< added tokens matched in the raw text (normalized: false)
  tok::AddedTokenSet norm_added;  ///< added tokens matched in the normalized text (normalized: true)
  tok::PostProcessor post;
  std::vector<std::string> vocab;  ///< id -> token, model vocabulary and added tokens
  int32_t pad_id = 0;

  /// Appends the ids of `text` (no special tokens) to `ids`; stops early once `ids` holds `cap` ids or more
  /// (word granularity: the first `cap` ids are exactly those of the full encoding).
  void encode_sequence(std::string_view text, std::vector<int32_t>& ids,
                       size_t cap = std::numeric_limits<size_t>::max()) const;

  /// The id of `token`: an added token's, else the model's; -1 if neither has it.
  int32_t token_to_id(std::string_view token) const;

  /// Registers an added token (normalizing its content if it is a `normalized` token).
  void add_token(tok::AddedToken t);
  /// Builds `vocab` from the model and the added tokens; call once everything is loaded.
  void finish_vocab(const std::vector<tok::AddedToken>& added);

 private:
  std::vector<tok::AddedToken> added_;
};

namespace tok {
/// Loads the pipeline from the text of a tokenizer.json.
std::unique_ptr<Tokenizer::Impl> load_tokenizer_json(std::string_view text, const std::string& source);
/// Loads the pipeline from vocab.txt (+ tokenizer_config.json, special_tokens_map.json) in `dir`.
std::unique_ptr<Tokenizer::Impl> load_vocab_txt(const std::filesystem::path& dir);
/// Reads a whole file; throws ModelError naming it.
std::string read_file(const std::filesystem::path& path);
}  // namespace tok

}  // namespace rerank

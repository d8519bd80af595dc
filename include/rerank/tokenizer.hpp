// rerank/tokenizer.hpp — BERT WordPiece tokenization exactly as Hugging Face `tokenizers` does it.
//
//   auto tok = rerank::Tokenizer::from_directory("models/ms-marco-MiniLM-L-6-v2");
//   rerank::Encoding e = tok.encode_pair("how do i reset my password?", "Click 'Forgot Password'.", 512);
//   // e.ids = [101, ..., 102, ..., 102], e.type_ids = [0, ..., 0, 1, ..., 1]
//
// Reads `tokenizer.json` (normalizer BertNormalizer / Lowercase / Sequence, pre-tokenizer BertPreTokenizer,
// model WordPiece, post-processor TemplateProcessing or BertProcessing), or falls back to `vocab.txt` +
// `tokenizer_config.json` when `tokenizer.json` is absent. Truncation follows tokenizers' `LongestFirst` rule;
// `max_length` counts the special tokens. The `truncation`/`padding` sections of tokenizer.json are ignored:
// callers choose them per request, as sentence-transformers does.
//
// Text must be valid UTF-8; invalid byte sequences are replaced with U+FFFD (which the BERT normalizer then
// drops, as Hugging Face does for U+FFFD).
//
// Thread safety: a Tokenizer is immutable after construction; all const methods may be called concurrently.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rerank {

/// One encoded input (a single text or a pair), special tokens included, no padding.
struct Encoding {
  std::vector<int32_t> ids;
  std::vector<int32_t> type_ids;
  std::vector<std::string> tokens;  ///< the token strings, for debugging (`rerank tokenize`)
};

class Tokenizer {
 public:
  /// Loads `dir/tokenizer.json`, else `dir/vocab.txt` (+ `tokenizer_config.json`). Throws ModelError.
  static Tokenizer from_directory(const std::filesystem::path& dir);
  /// Parses the text of a tokenizer.json; `source` names it in error messages. Throws ModelError.
  static Tokenizer from_json(std::string_view json_text, const std::string& source = "tokenizer.json");

  /// `[CLS] text [SEP]` truncated to `max_length` tokens in all (0 = no truncation).
  Encoding encode(std::string_view text, size_t max_length = 0) const;
  /// `[CLS] a [SEP] b [SEP]` truncated with LongestFirst to `max_length` tokens in all (0 = no truncation).
  Encoding encode_pair(std::string_view a, std::string_view b, size_t max_length = 0) const;

  /// The ids of `text` without special tokens, untruncated; stops once `cap` ids are reached (the first `cap` ids
  /// are exactly those of the full encoding).
  std::vector<int32_t> encode_ids(std::string_view text, size_t cap = SIZE_MAX) const;
  /// The pair template applied to already tokenized sequences (ids from encode_ids), truncated with LongestFirst
  /// to `max_length` tokens in all (0 = none): encode_pair(a, b, n) == assemble_pair(encode_ids(a), encode_ids(b),
  /// n). Lets a caller cut or window a document by tokens before pairing, whatever the template.
  Encoding assemble_pair(std::vector<int32_t> a, std::vector<int32_t> b, size_t max_length = 0) const;

  /// Normalized, pre-tokenized tokens of `text` (the model's pieces), without special tokens.
  std::vector<std::string> tokenize(std::string_view text) const;

  size_t vocab_size() const;
  int32_t pad_id() const;
  /// Number of special tokens the template adds for a single text (pair = false) or a pair (pair = true).
  size_t num_special_tokens(bool pair) const;
  /// The token string for an id ("" if out of range).
  std::string id_to_token(int32_t id) const;
  /// The id of a token string (vocabulary or added token), -1 when there is none.
  int32_t token_to_id(std::string_view token) const;

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  Tokenizer(const Tokenizer&) = delete;
  ~Tokenizer();

  struct Impl;

 private:
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace rerank

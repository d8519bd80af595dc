// rerank/bi_encoder.hpp — embed texts like sentence-transformers' SentenceTransformer.encode.
//
//   auto model = rerank::Model::load("all-MiniLM-L6-v2");
//   rerank::BiEncoder be(model, {.threads = 2});
//   std::vector<std::vector<float>> e = be.encode({"first text", "second text"});
//
// Embeddings follow the model's modules.json: the transformer, Pooling (cls / mean / max / mean_sqrt_len /
// weightedmean / lasttoken) and an optional Normalize. A model without modules.json gets CLS pooling.
//
// Thread safety: NOT thread-safe (per-thread scratch); create one per thread from a shared Model.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "rerank/cross_encoder.hpp"

namespace rerank {

struct EncodeOptions {
  size_t max_length = 0;  ///< tokens per text, special tokens included; 0 = the model's max_seq_length
  /// A prompt of config_sentence_transformers.json ("query" for Qwen3-Embedding) prepended to every text instead of
  /// the default prompt; empty = the default. InputError for a name the model does not have.
  std::string prompt_name;
};

class BiEncoder {
 public:
  explicit BiEncoder(std::shared_ptr<const Model> model, EngineOptions options = {});
  ~BiEncoder();
  BiEncoder(BiEncoder&&) noexcept;

  /// One embedding per text; when `encodings` is given it receives the tokens that were embedded.
  std::vector<std::vector<float>> encode(const std::vector<std::string>& texts, const EncodeOptions& options = {},
                                         std::vector<Encoding>* encodings = nullptr);
  /// Embeds already-tokenized texts. Like sentence-transformers, the forward passes take the texts longest first
  /// (batches of similar lengths); the output is in input order and does not depend on the batching.
  std::vector<std::vector<float>> encode_encoded(const std::vector<Encoding>& encodings);
  /// The tokens encode() embeds for `texts` (prompt, truncation), on the calling thread. Unlike the rest of the
  /// class this is thread-safe: it reads only the shared Model, so it may run while another thread encodes.
  std::vector<Encoding> tokenize(const std::vector<std::string>& texts, const EncodeOptions& options = {}) const;
  size_t dimension() const;
  const Model& model() const { return *model_; }

 private:
  const std::string* prompt(const EncodeOptions& options) const;  ///< null = the model's default prompt

  std::shared_ptr<const Model> model_;
  std::unique_ptr<Session> session_;
  size_t batch_size_;
};

}  // namespace rerank

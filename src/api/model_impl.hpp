// Internals of rerank::Model and the per-thread Session shared by CrossEncoder and BiEncoder.
#pragma once
#include <memory>
#include <mutex>

#include "model/architecture.hpp"
#include "model/safetensors.hpp"
#include "rerank/cross_encoder.hpp"
#include "rerank/model.hpp"

namespace rerank {

struct Model::Impl {
  ModelInfo info;
  Tokenizer tokenizer;
  model::TensorStore store;  // owns the mappings the weights point into
  std::unique_ptr<model::Architecture> arch;  // weights, forward pass and head, chosen by model_type
};

/// Per-thread state: the thread pool and the scratch buffers of the forward pass.
class Session {
 public:
  Session(std::shared_ptr<const Model> model, const EngineOptions& options);
  ThreadPool& pool() { return *pool_; }
  model::Scratch& scratch() { return scratch_; }
  /// The max_length to use for a request (0 = model default), checked against the model. Throws InputError.
  size_t resolve_max_length(size_t requested, bool pair) const;
  /// Tokenizes texts (or pairs when `b` is given) in parallel on the pool.
  /// `prompt`: prepended to each (first) text instead of the model's default prompt (null = the default).
  std::vector<Encoding> tokenize(const std::vector<std::string_view>& a, const std::vector<std::string_view>* b,
                                 size_t max_length, const std::string* prompt = nullptr);
  /// Runs the encoder on encodings[begin, end); hidden states are left in scratch().
  /// `share`: let a decoder run the leading tokens consecutive inputs share once (the returned sequences are then
  /// the remaining parts, which classify() takes). `head_only`: only classify() reads the result (an encoder may then
  /// skip the last layer's work on tokens its head does not read; see Scratch::first_token_only).
  std::vector<model::Sequence> encode(const std::vector<Encoding>& encodings, size_t begin, size_t end, bool share = false,
                                      bool head_only = false);
  /// Runs the encoder on the given encodings (in that order); hidden states are left in scratch().
  std::vector<model::Sequence> encode(const std::vector<const Encoding*>& encodings);
  /// The model's classification head over the last encode(): logits [n, num_labels].
  void classify(const std::vector<model::Sequence>& seqs, float* logits) const;
  /// sentence-transformers pooling (+ Normalize) over the last encode(): [n, embedding_dim].
  void pool(const std::vector<model::Sequence>& seqs, float* out) const;

 private:
  std::shared_ptr<const Model> model_;
  std::shared_ptr<ThreadPool> pool_;
  model::Scratch scratch_;
  Precision precision_;
 public:
  bool prefix_sharing = true;
};

}  // namespace rerank

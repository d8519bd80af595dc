// Internals of rerank::Model and the per-thread Session shared by CrossEncoder and BiEncoder.
#pragma once
#include <memory>
#include <mutex>

#include "model/bert.hpp"
#include "model/safetensors.hpp"
#include "rerank/cross_encoder.hpp"
#include "rerank/model.hpp"

namespace rerank {

struct Model::Impl {
  ModelInfo info;
  Tokenizer tokenizer;
  model::TensorStore store;  // owns the mappings the weights point into
  model::BertWeights weights;
  /// The linear layers packed for `p` (built on first use, then shared; null for FP32). Thread-safe.
  const model::PackedBert* packed(Precision p) const;

  mutable std::mutex pack_mu_;
  mutable std::unique_ptr<model::PackedBert> packed_[3];
};

/// Per-thread state: the thread pool and the scratch buffers of the forward pass.
class Session {
 public:
  Session(std::shared_ptr<const Model> model, const EngineOptions& options);
  ThreadPool& pool() { return *pool_; }
  model::BertScratch& scratch() { return scratch_; }
  /// The max_length to use for a request (0 = model default), checked against the model. Throws InputError.
  size_t resolve_max_length(size_t requested, bool pair) const;
  /// Tokenizes texts (or pairs when `b` is given) in parallel on the pool.
  std::vector<Encoding> tokenize(const std::vector<std::string_view>& a, const std::vector<std::string_view>* b,
                                 size_t max_length);
  /// Runs the encoder on encodings[begin, end); hidden states are left in scratch().
  std::vector<model::Sequence> encode(const std::vector<Encoding>& encodings, size_t begin, size_t end);

 private:
  std::shared_ptr<const Model> model_;
  std::shared_ptr<ThreadPool> pool_;
  model::BertScratch scratch_;
  Precision precision_;
  const model::PackedBert* packed_ = nullptr;
};

}  // namespace rerank

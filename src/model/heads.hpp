// Heads shared by the architectures: sentence-transformers pooling (+ Normalize) for bi-encoders, and the
// "dense -> activation -> (LayerNorm) -> projection" classification heads of BERT (pooler + classifier),
// RoBERTa / XLM-R (tanh), ELECTRA (gelu) and ModernBERT (act + norm, cls or mean pooled).
#pragma once
#include <vector>

#include "model/layers.hpp"

namespace rerank::model {

/// sentence-transformers Pooling (+ Normalize) of each sequence's last hidden states. out: [n, embedding_dim].
void pool(const ModelInfo& info, const std::vector<Sequence>& seqs, const Scratch& s, float* out);

struct ClassificationHead {
  enum class Input { First, Mean };  // the first token (<s> / [CLS]) or the mean of all tokens
  Input input = Input::First;
  Linear dense;
  kernels::Act act = kernels::Act::Tanh;
  bool has_norm = false;
  Norm norm;  // after the activation (ModernBERT)
  float eps = 1e-5f;
  Linear out;  // [num_labels, H]
  /// logits[n, out.out] for the encoded batch in s.x (row width H = dense.in).
  void apply(const std::vector<Sequence>& seqs, const Scratch& s, float* logits) const;
};

}  // namespace rerank::model

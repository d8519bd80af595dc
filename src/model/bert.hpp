// BERT (absolute positions, post-LayerNorm) as transformers' BertModel / BertForSequenceClassification compute it,
// over sequences packed back to back without padding: token-wise layers run on all tokens of the batch at once,
// attention runs per (sequence, head). A sequence's result therefore never depends on what else is in its batch.
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/matmul_dnnl.hpp"
#include "model/safetensors.hpp"
#include "rerank/model.hpp"
#include "rerank/thread_pool.hpp"

namespace rerank::model {

struct Linear {  // y = x W^T + b, W is [out, in] row-major (PyTorch's nn.Linear layout)
  const float* w = nullptr;
  const float* b = nullptr;
  int out = 0, in = 0;
};
struct Norm {
  const float* gamma = nullptr;
  const float* beta = nullptr;
};
struct BertLayer {
  Linear qkv;  // query, key and value fused into one [3H, H] matrix
  Linear attn_out;
  Norm ln1;
  Linear inter, out;
  Norm ln2;
};
struct BertWeights {
  const float* word = nullptr;  // [vocab, H]
  const float* pos = nullptr;   // [max_pos, H]
  const float* type = nullptr;  // [type_vocab, H]
  Norm emb_ln;
  std::vector<BertLayer> layers;
  Linear pooler, classifier;  // set when the model has a classification head
  std::vector<std::vector<float>> owned;  // converted or fused tensors; the rest point into the mapping
};

/// The encoder's linear layers packed for a reduced precision (oneDNN layout), built once per Model and precision.
struct PackedBert {
  struct Layer {
    std::unique_ptr<kernels::PackedLinear> qkv, attn_out, inter, out;
  };
  std::vector<Layer> layers;
};
std::unique_ptr<PackedBert> pack_bert(const BertWeights& w, Precision p);

/// Finds, checks against `info` and prepares every tensor. Throws ModelError naming the tensor and shapes.
BertWeights load_bert_weights(const TensorStore& store, const ModelInfo& info);

struct Sequence {
  const int32_t* ids;
  const int32_t* type_ids;
  size_t len;
};

/// Per-session buffers, grown on demand and reused between calls.
struct BertScratch {
  std::vector<float> x, qkv, ctx, tmp, inter;
  std::vector<std::vector<float>> scores;  // one [L, L] buffer per worker
  std::vector<size_t> offsets;            // first token of each sequence in the packed batch
  std::vector<std::vector<uint8_t>> lowp;  // per worker: a row chunk converted to bf16 / int8
  std::vector<std::vector<float>> row_scale;  // per worker: int8 row scales
  std::vector<kernels::MatmulCache> matmuls;  // per worker: oneDNN primitives
  std::vector<std::vector<uint16_t>> attn16;  // per worker: bf16 Q, K, V, P of one sequence
  std::vector<std::vector<float>> attn32;     // per worker: scores and context of one sequence
};

/// Encodes `seqs`; on return s.x holds the last hidden states [total tokens, H], s.offsets each sequence's start.
/// Throws InputError for an id or type id outside the model's tables or a sequence longer than its positions.
/// `packed` = null runs the exact fp32 path (OpenBLAS); otherwise the linear layers run in packed's precision.
void bert_encode(const ModelInfo& info, const BertWeights& w, const PackedBert* packed, const std::vector<Sequence>& seqs,
                 BertScratch& s, ThreadPool& pool);

/// Classification head over each sequence's first token: tanh pooler, then classifier. logits: [n, num_labels].
void bert_classify(const ModelInfo& info, const BertWeights& w, const std::vector<Sequence>& seqs, const BertScratch& s,
                   float* logits);

/// sentence-transformers Pooling (+ Normalize) of each sequence. out: [n, embedding_dim].
void bert_pool(const ModelInfo& info, const std::vector<Sequence>& seqs, const BertScratch& s, float* out);

}  // namespace rerank::model

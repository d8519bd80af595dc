// The seam between the engine and a model architecture. An Architecture owns its weights, encodes a batch of
// sequences packed back to back without padding (token-wise layers on all tokens at once, attention per sequence),
// and applies its sequence-classification head. Pooling for bi-encoders (sentence-transformers' Pooling +
// Normalize) is shared (heads.hpp) and works on any architecture's last hidden states.
//
// Architectures are chosen from config.json's model_type through the registry (registry.cpp): one file per
// architecture under src/model/ plus one line in that table. Nothing above src/model/ knows which one runs.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kernels/matmul_dnnl.hpp"
#include "model/safetensors.hpp"
#include "rerank/model.hpp"
#include "rerank/thread_pool.hpp"

namespace rerank::model {

struct Linear;

struct Sequence {
  const int32_t* ids;
  const int32_t* type_ids;
  size_t len;
};

/// Per-session buffers, grown on demand and reused between calls.
struct Scratch {
  std::vector<float> x, qkv, ctx, tmp, inter, norm;
  std::vector<std::vector<float>> scores;     // per worker: one block of attention scores
  std::vector<size_t> offsets;                // first token of each sequence in the packed batch (+ total)
  std::vector<std::vector<uint8_t>> lowp;     // per worker: a row chunk converted to bf16 / int8
  std::vector<std::vector<float>> row_scale;  // per worker: int8 row scales
  std::vector<std::vector<int32_t>> row_zero;  // per worker: u8 row zero points
  std::vector<std::vector<float>> rows32;      // per worker: a bf16 row chunk widened to f32 (int8 products)
  std::vector<kernels::MatmulCache> matmuls;  // per worker: oneDNN primitives
  std::vector<std::vector<uint16_t>> attn16;  // per worker: bf16 Q, K, V, P of one sequence
  std::vector<std::vector<float>> attn32;     // per worker: scores and context of one sequence
  std::vector<std::vector<float>> inv_sum;    // per worker: 1 / the softmax sums of those rows
  std::vector<float> kv;                      // decoders: keys and values of shared prefixes, per layer
  std::vector<std::vector<float>> chunk;      // per worker: one row chunk's FFN intermediate (ffn_rows)
  std::vector<std::vector<uint16_t>> chunk16;  // per worker: that intermediate in bf16 (int8 first product)
  std::vector<uint16_t> qkv16, ctx16;         // bf16 attention input / output (AttentionShape::bf16_io)
  /// Calibration (fp32 runs only): per registered linear (slot), the max |input| per input channel seen so far.
  std::vector<std::vector<float>>* calib = nullptr;
  /// In: the caller reads only what classify() reads. An encoder whose head takes the first token of each sequence
  /// may then run its last layer's queries, attention and FFN for those tokens alone (K and V for all): s.x's other
  /// rows then hold the layer before's states. Off for pooling / token states; Session sets it on every encode.
  bool first_token_only = false;
  std::vector<float> first;        // the first tokens' rows of the last layer [n, H] (first_token_only)
  std::vector<uint16_t> first16;   // their bf16 queries
};

class Architecture {
 public:
  virtual ~Architecture();
  /// Encodes `seqs`; on return s.x holds the last hidden states [total tokens, H], s.offsets each sequence's start.
  /// Throws InputError for an id outside the model's tables or a sequence longer than its positions.
  /// FP32 is the exact path; BF16 / INT8 run the encoder's linear layers in that precision.
  virtual void encode(const std::vector<Sequence>& seqs, Precision p, Scratch& s, ThreadPool& pool) const = 0;
  /// The sequence-classification head over the encoded batch: logits [n, num_labels].
  virtual void classify(const std::vector<Sequence>& seqs, const Scratch& s, float* logits) const = 0;
  /// Like encode, but a decoder may run the leading tokens that consecutive sequences share once (prefix sharing;
  /// exact under causal attention). Returns the sequences whose hidden states s.x holds (the parts after the
  /// shared prefixes); pass those to classify. The default encodes everything and returns `seqs`.
  virtual std::vector<Sequence> encode_shared(const std::vector<Sequence>& seqs, Precision p, Scratch& s,
                                              ThreadPool& pool) const {
    encode(seqs, p, s, pool);
    return seqs;
  }
  /// Builds the packed weights for `p` now (otherwise on first use). Thread-safe.
  virtual void prepare(Precision p) const { (void)packs(p); }

 protected:
  /// Registers an encoder linear layer for packing (sets l.slot). Call while loading.
  void register_linear(Linear& l);
  /// The packed matrix of `l` for `p`: oneDNN's blocked layout for every precision (fp32 too: oneDNN's f32 kernels
  /// on prepacked weights beat OpenBLAS's per-call packing by 15-70% on the encoder shapes, bit-identical for
  /// k <= 384; see docs/PERFORMANCE.md). Null for an unregistered layer, and for FP32 when the weights exceed
  /// kPackFp32MaxBytes (the blocked copy doubles their memory; those models use OpenBLAS on the plain weights).
  const kernels::PackedLinear* packed(const Linear& l, Precision p) const;
  static constexpr size_t kPackFp32MaxBytes = size_t{1} << 30;
  std::vector<std::vector<float>> owned_;  // converted or fused tensors; the rest point into the mapping
  /// > 0: the INT8 packing calibrates SmoothQuant factors by an fp32 encode of fixed pseudo-random token ids
  /// below this id (the vocabulary size); 0: plain per-row int8 without smoothing.
  int calibration_vocab_ = 0;

 private:
  using Packs = std::vector<std::unique_ptr<kernels::PackedLinear>>;
  const Packs* packs(Precision p) const;
  std::unique_ptr<Packs> build_packs(Precision p) const;
  std::vector<std::vector<float>> smoothing_factors(std::vector<std::vector<int>>* outliers) const;
  std::vector<const Linear*> linears_;
  size_t linear_bytes_ = 0;  // the registered linears' fp32 weights
  struct PackSlot {
    std::mutex mu;  // guards packs; one per precision (see packs())
    std::unique_ptr<Packs> packs;
  };
  mutable PackSlot packs_[3];  // by Precision
};

/// One entry of the registry.
struct ArchitectureSpec {
  const char* model_type;  ///< config.json's model_type
  /// Reads the architecture's fields of config.json into `info` (shapes, activation, norm eps, usable positions).
  void (*configure)(const nlohmann::json& config, const std::filesystem::path& file, ModelInfo& info);
  /// Loads and checks the weights.
  std::unique_ptr<Architecture> (*load)(const nlohmann::json& config, const std::filesystem::path& file,
                                        const ModelInfo& info, const TensorStore& store);
  bool decoder = false;  ///< decoder-only (causal): *ForCausalLM checkpoints are rerankers (logit yes - no)
};

/// The spec for config.json's model_type; ModelError naming it and listing the supported ones otherwise.
const ArchitectureSpec& find_architecture(const std::string& model_type, const std::filesystem::path& file);
/// "bert, electra, ..." for messages.
std::string supported_model_types();

/// Loads the architecture of a model directory whose info was read by read_model_info.
std::unique_ptr<Architecture> load_architecture(const ModelInfo& info, const TensorStore& store);

}  // namespace rerank::model

// Building blocks every architecture shares: weight lookup with shape checks, linear layers run over the packed
// token rows (fp32 OpenBLAS or a packed bf16 / int8 oneDNN matrix), LayerNorm, and attention over packed,
// unpadded sequences (per (sequence, head), query rows in blocks, optional sliding window).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "kernels/matmul_dnnl.hpp"
#include "kernels/ops.hpp"
#include "model/architecture.hpp"
#include "model/safetensors.hpp"

namespace rerank::model {

struct Linear {  // y = x W^T + b, W is [out, in] row-major (PyTorch's nn.Linear layout); b may be null
  const float* w = nullptr;
  const float* b = nullptr;
  int out = 0, in = 0;
  int slot = -1;  // index into the architecture's packed reduced-precision matrices (encoder layers only)
  bool int8 = true;              // Precision::INT8 packs it as int8 (else as bf16: a product the ranking is sensitive to)
  bool smooth = true;  // INT8: SmoothQuant factors (calibrated, see Architecture::smoothing_factors) folded in
  bool u8 = false;     // INT8: asymmetric u8 activations per row (inputs far from symmetric, e.g. GELU outputs)
  /// INT8: input channels whose calibrated max |x| exceeds outlier_ratio x the median channel's (at most
  /// max_outliers of them, largest first) stay out of the int8 product, exact in f32 (LLM.int8()-style); 0 = none.
  float outlier_ratio = 0.0f;
  int max_outliers = 0;
  // INT8: take the SmoothQuant factors of this slot instead of its own (rows of another linear: the same factors keep
  // the product exactly equal to those rows of the other's)
  int smooth_slot = -1;
};
struct Norm {  // LayerNorm; beta is a zero vector when the checkpoint has no bias
  const float* gamma = nullptr;
  const float* beta = nullptr;
};

/// Finds tensors under the names checkpoints use (each of `prefixes`, LayerNorm weight/bias or gamma/beta),
/// checks their shapes against config.json, and keeps converted copies (F16/BF16, fused) alive in `owned`.
class WeightLoader {
 public:
  WeightLoader(const TensorStore& store, std::vector<std::string> prefixes, std::vector<std::vector<float>>& owned)
      : store_(store), prefixes_(std::move(prefixes)), owned_(owned) {}
  const TensorInfo* find(const std::string& name) const;
  bool has(const std::string& name) const { return find(name) != nullptr; }
  const TensorInfo& require(const std::string& name, const std::vector<int64_t>& shape) const;
  /// A float pointer to the tensor: in place for aligned F32, else a converted copy.
  const float* f32(const std::string& name, const std::vector<int64_t>& shape);
  const float* zeros(size_t n);
  Linear linear(const std::string& prefix, int out, int in, bool bias = true);
  Norm norm(const std::string& prefix, int n, bool bias = true);
  /// query/key/value (prefix.query, .key, .value) fused into one [3H, H] weight and [3H] bias.
  Linear fused_qkv(const std::string& prefix, int h);
  /// Throws ModelError when a tensor of layer `n` (counted from 0) exists: the checkpoint has more layers.
  void check_no_layer(const std::string& probe, int num_layers) const;

 private:
  const TensorStore& store_;
  std::vector<std::string> prefixes_;
  std::vector<std::vector<float>>& owned_;
};

/// y[rows] = x[rows] W^T, then epilogue(r) per row; rows split across the pool, single-threaded GEMMs of up to
/// kRowChunk rows each: OpenBLAS sgemm when `packed` is null, else oneDNN on rows converted to bf16 / int8.
// linear_rows epilogue of pre-norm layers: the residual add x[r] += y[r] (+ bias), rows of width H.
std::function<void(size_t)> residual_add_rows(float* x, const float* y, const float* bias, size_t H);

void linear_rows(const float* x, size_t rows, const Linear& l, const kernels::PackedLinear* packed, float* y, Scratch& s,
                 ThreadPool& pool, const std::function<void(size_t)>& epilogue);

/// Rows per product inside a worker's share of linear_rows / ffn_rows: a chunk's output and its epilogue stay in L2.
constexpr size_t kRowChunk = 128;
/// ffn_rows' chunk: both products' weights and the chunk's intermediate compete for L2 there; at 64 rows the int8
/// up-projection of all-MiniLM-L6-v2 ran at 490-530 GFLOP/s per thread instead of 350-385 at 128 (oneDNN verbose
/// times; bf16 unchanged; 32 and 48 slower again).
constexpr size_t kFfnRowChunk = 64;

/// The feed-forward block: y[rows] = act(x W1^T + b1) W2^T, then epilogue(r) per row (b2, residual and norm are the
/// epilogue's). Per worker and chunk of kFfnRowChunk rows, so the [rows, intermediate] activations never exist whole.
/// fp32: OpenBLAS + the SIMD activation; bf16: bias + activation fused into the first oneDNN product, whose output
/// stays bf16 as the second one's input (the exact path rounds it to bf16 there too); int8: as linear_rows.
void ffn_rows(const float* x, size_t rows, const Linear& l1, const kernels::PackedLinear* p1, kernels::Act act,
              const Linear& l2, const kernels::PackedLinear* p2, float* y, Scratch& s, ThreadPool& pool,
              const std::function<void(size_t)>& epilogue);

/// BF16 weights only: y[rows] = act(x W^T + b), bias and activation fused into the oneDNN product; the input is
/// f32 `x` (converted per chunk) or, when x is null, bf16 `x16`; the output bf16 `y16` when given, else f32 `y`.
/// Then epilogue(r) per row when it is set.
void linear_rows_bf16(const float* x, const uint16_t* x16, size_t rows, const Linear& l, const kernels::PackedLinear& packed,
                      kernels::Act act, float* y, uint16_t* y16, Scratch& s, ThreadPool& pool,
                      const std::function<void(size_t)>& epilogue);

/// INT8 weights only: y[rows] = x W^T + b through s8 x s8 (u8 x s8 when l.u8) -> s32 oneDNN products on rows
/// quantised per row (symmetric, or asymmetric with a zero point, after the weights' smoothing), dequantised with the
/// bias in one pass, plus the packed matrix's outlier channels exactly in f32. The input is f32 `x` or, when x
/// is null, bf16 `x16`; the output bf16 `y16` when given, else f32 `y`. Then epilogue(r) per row when it is set.
void linear_rows_int8(const float* x, const uint16_t* x16, size_t rows, const Linear& l, const kernels::PackedLinear& packed,
                      float* y, uint16_t* y16, Scratch& s, ThreadPool& pool, const std::function<void(size_t)>& epilogue);

/// dst = LayerNorm(src) over one row (src and dst may alias).
void layernorm_row(const float* src, float* dst, const Norm& n, size_t H, float eps);

struct AttentionShape {
  size_t hidden = 0, heads = 0;
  size_t qkv_stride = 0;  // floats between two tokens' rows in s.qkv (3H for a fused [Q K V] row)
  float scale = 1.0f;     // applied to Q K^T before the softmax
  size_t window = 0;      // sliding window: key k is visible from query q when |q - k| <= window; 0 = all keys
  bool bf16_io = false;   // bf16 path: Q, K, V read from s.qkv16 and the context written to s.ctx16 (bf16)
};

/// softmax(Q K^T * scale) V per (sequence, head) from s.qkv ([T, qkv_stride]: Q, K, V of H each) into s.ctx
/// ([T, H]). `bf16`: batched bf16 matmuls over as many heads of a sequence as fit a 96 MB budget (a window is masked; only up to 8 windows long);
/// otherwise fp32 with query rows in blocks of 256, so no more than one block of scores per worker exists.
void attention(const std::vector<Sequence>& seqs, const AttentionShape& a, bool bf16, Scratch& s, ThreadPool& pool);

/// The attention of the first token of each sequence alone (the last layer of an encoder whose head reads only that
/// token): per sequence i and head, ctx row i = softmax(q_i K_i^T * scale) V_i, q: [n, H] the first tokens' queries
/// (bf16 `q16` when a.bf16_io, else f32 `q`), K and V of all of sequence i's tokens from s.qkv / s.qkv16 rows of
/// a.qkv_stride at columns [k_col, k_col + H) and [k_col + H, k_col + 2H). Into rows 0..n-1 of s.ctx / s.ctx16.
/// Computes what attention() computes for those rows (`bf16`: bf16 probabilities and products with f32 sums where
/// attention() takes its bf16 path; fp32 otherwise), up to the order of the sums.
void attention_first_token(const std::vector<Sequence>& seqs, const AttentionShape& a, bool bf16, const float* q,
                           const uint16_t* q16, size_t k_col, Scratch& s, ThreadPool& pool);

/// The packed ids/type ids/lengths checked against the model (InputError naming the bad id); fills s.offsets and
/// sizes the per-worker scratch. `type_vocab` 0 = type ids ignored. Returns the total token count.
size_t prepare_batch(const std::vector<Sequence>& seqs, int vocab_size, int type_vocab, size_t max_tokens, Scratch& s,
                     ThreadPool& pool);

}  // namespace rerank::model

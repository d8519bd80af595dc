// GEMMs on prepacked weights through oneDNN (Debian's libdnnl): fp32 (AVX-512), bf16 (AMX / AVX512-BF16), int8 (AMX / VNNI).
//
// A PackedLinear holds one nn.Linear's weights converted and reordered once into oneDNN's blocked layout (shared,
// immutable). A MatmulCache, one per Session, owns the oneDNN primitives for each (weights, M) it has run; a
// primitive costs ~0.4 ms to create and is reused for every later batch with the same row count.
// Each call runs single-threaded on the calling thread: the engine's own ThreadPool splits rows across workers.
#pragma once
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <vector>

#include "kernels/ops.hpp"
#include "rerank/model.hpp"

namespace rerank::kernels {

using Precision = rerank::Precision;

class PackedLinear {
 public:
  /// w is [n, k] row-major (PyTorch layout). For INT8 the weights are quantised symmetrically per output channel;
  /// `smooth` (INT8 only, may be null): per-input-channel factors s[k] > 0 folded into the weights (W s) before the
  /// quantisation, whose inverse the activations get (x / s: SmoothQuant), see inv_smooth().
  /// `outliers` (INT8 only, may be null): input channels left out of the int8 product (their weights zeroed there,
  /// their activations zeroed by inv_smooth()) and kept exact: outlier_w() holds their f32 weight columns, which the
  /// caller applies to the unquantised activations (LLM.int8()-style decomposition, see add_outliers).
  PackedLinear(const float* w, int n, int k, Precision p, const float* smooth = nullptr,
               const std::vector<int>* outliers = nullptr);
  ~PackedLinear();
  PackedLinear(const PackedLinear&) = delete;
  int n() const { return n_; }
  int k() const { return k_; }
  Precision precision() const { return precision_; }
  /// INT8: the per-output-channel weight scales (w ~ col_scale[n] * w8).
  const float* col_scale() const;
  /// INT8: 1 / smooth per input channel (0 for an outlier channel), or null without smoothing and outliers.
  const float* inv_smooth() const;
  /// INT8: per output channel, the sum of its int8 weights (the zero-point correction of u8 inputs).
  const int32_t* col_sum() const;
  /// INT8: the outlier input channels and their weights, [outliers().size(), n] (row i = W[:, outliers()[i]]).
  const std::vector<int>& outliers() const;
  const float* outlier_w() const;
  /// INT8: y[n] += sum over outlier channels j of x[j] * W[:, j] (x: one unquantised input row of k values).
  void add_outliers(const float* x, float* y) const;

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  int n_, k_;
  Precision precision_;
  std::unique_ptr<Impl> impl_;
};

class MatmulCache {
 public:
  MatmulCache();
  ~MatmulCache();
  MatmulCache(MatmulCache&&) noexcept;
  MatmulCache& operator=(MatmulCache&&) noexcept;
  /// y[m, n] = x[m, k] W^T (no bias: callers add it in their fp32 epilogue, as the fp32 path does).
  /// FP32: `x` holds f32 rows. BF16: `x` holds bf16 (uint16_t) rows. INT8: `x` holds int8 rows quantised per row, x_real = row_scale[r] * x;
  /// the int32 products are rescaled by row_scale[r] * weight_scale[n]. Single-threaded on the caller.
  void run(const PackedLinear& w, const void* x, size_t m, float* y, const float* row_scale = nullptr);

  /// INT8 weights only: acc[m, n] = x[m, k] W8^T exactly in int32 (x: int8 rows). Single-threaded on the caller.
  void run_s8(const PackedLinear& w, const int8_t* x, size_t m, int32_t* acc);

  /// INT8 weights, asymmetric input: acc[m, n] = x[m, k] W8^T exactly in int32 (x: uint8 rows with zero points;
  /// the caller subtracts zero * col_sum()). Single-threaded on the caller.
  void run_u8(const PackedLinear& w, const uint8_t* x, size_t m, int32_t* acc);

  /// BF16 weights only, the epilogue fused into the product (oneDNN bias + eltwise post-op, in registers):
  /// y[m, n] = act(x W^T + bias) with x bf16 rows; y is bf16 (uint16_t) when `bf16_out`, else f32. `bias` may be
  /// null. Act::None/Gelu/GeluTanh/Relu/Tanh/Silu map to oneDNN's eltwise algorithms (gelu_erf for Gelu).
  void run_fused(const PackedLinear& w, const uint16_t* x, size_t m, void* y, bool bf16_out, const float* bias, Act act);

  /// Attention products for one sequence, all heads at once, in bf16 with fp32 results:
  /// scores[h] = q[h] k[h]^T  (q, k: [heads, len, d] bf16; scores: [heads, len, len] f32)
  void attention_scores(size_t heads, size_t len, size_t d, const uint16_t* q, const uint16_t* k, float* scores);
  /// ctx[h] = p[h] v[h]  (p: [heads, len, len] bf16; v: [heads, len, d] bf16; ctx: [heads, len, d] f32)
  void attention_context(size_t heads, size_t len, size_t d, const uint16_t* p, const uint16_t* v, float* ctx);
  /// The same two products in fp32 (exact up to the order of the sums; q, k, p, v: f32).
  void attention_scores(size_t heads, size_t len, size_t d, const float* q, const float* k, float* scores);
  void attention_context(size_t heads, size_t len, size_t d, const float* p, const float* v, float* ctx);

 private:
  /// kind 0: scores = a b^T, 1: ctx = a b; f32 or bf16 inputs, f32 out (the primitive cached per kind, type, shape).
  void attention_product(int kind, bool f32, size_t heads, size_t len, size_t d, const void* a, const void* b, float* c);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rerank::kernels

// Int8 weight-only linear layers: weights stored as int8 with one symmetric scale per output channel
// (w ≈ scale[o] * q[o, i], q in [-127, 127]), activations kept in bf16 — not quantised, unlike PackedLinear's INT8
// (int8 x int8). For decoders whose activations have outliers (Qwen), and to halve the resident weights of bf16.
//
// y[m, o] = scale[o] * sum_i x[m, i] q[o, i]: the int8 values are exact in bf16, so a column block of q is
// widened to bf16 in a per-thread buffer (L2-sized) and multiplied by oneDNN's bf16 matmul (AMX / AVX512-BF16)
// with fp32 accumulation; the scale is applied to the fp32 result. Equal to x_bf16 · dequant(W)^T up to the
// summation order. Single-threaded on the caller (the engine's pool splits rows).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace rerank::kernels {

class Int8WeightOnly {
 public:
  /// w is [n, k] row-major (PyTorch layout), quantised here.
  Int8WeightOnly(const float* w, int n, int k);
  int n() const { return n_; }
  int k() const { return k_; }
  /// Bytes held (int8 weights + scales).
  size_t bytes() const { return q_.size() + scale_.size() * sizeof(float); }
  /// The dequantised weight w[o, i] (tests).
  float weight(int o, int i) const;

  /// y[m, n] (row stride ldy) = x[m, k] (bf16 rows) · dequant(W)^T.
  void run(const uint16_t* x, size_t m, float* y, size_t ldy) const;

  static constexpr int kBlock = 256;  ///< output columns widened to bf16 at once

 private:
  int n_, k_;
  std::vector<int8_t> q_;      // per column block b: [k][width of b] (the block's weights transposed, rows of k)
  std::vector<float> scale_;   // [n]
};

}  // namespace rerank::kernels

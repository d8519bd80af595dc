// float32 -> bfloat16 conversion (round to nearest even, as oneDNN and PyTorch do), with a scalar reference and
// an AVX-512 BF16 version chosen at run time.
#pragma once
#include <cstddef>
#include <cstdint>

namespace rerank::kernels {

/// Scalar reference: y[i] = bf16(x[i]), NaN kept quiet.
void f32_to_bf16_scalar(const float* x, uint16_t* y, size_t n);
/// Fastest available on this CPU (AVX512-BF16 vcvtneps2bf16 when present, else the scalar reference).
void f32_to_bf16(const float* x, uint16_t* y, size_t n);
/// bf16 -> f32 (exact).
inline float bf16_to_f32(uint16_t h) {
  const uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  __builtin_memcpy(&f, &u, sizeof f);
  return f;
}
/// Symmetric int8 quantisation of one row: y = round(x / scale) with scale = max|x| / 127; returns the scale
/// (1 for an all-zero row).
float quantize_row_s8(const float* x, int8_t* y, size_t n);
/// Asymmetric uint8 quantisation of one row (for inputs far from symmetric, e.g. GELU outputs >= -0.17):
/// scale = (max(x, 0) - min(x, 0)) / 255 (1 for an all-zero row), zero = round(-min(x, 0) / scale),
/// y = clamp(round(x / scale) + zero, 0, 255), so x ~ scale * (y - zero). Returns the scale, *zero the zero point.
float quantize_row_u8(const float* x, uint8_t* y, size_t n, int32_t* zero);
/// Whether f32_to_bf16 uses the AVX512-BF16 instruction on this CPU.
bool has_avx512_bf16();

}  // namespace rerank::kernels

// SIMD versions of the row kernels in ops.hpp, written once with Highway and dispatched at run time to the best
// target of this CPU (AVX-512, AVX2, SSE4 or scalar). ops.hpp's scalar functions are the reference the tests compare
// these against.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/ops.hpp"

namespace rerank::kernels::simd {

void softmax_row(float* x, size_t n, float scale);
/// A softmax without its division, for attention that divides the n-times shorter context row instead:
/// out[i] = bf16(exp(scale * (x[i] - max x))) (nearest even; x is only read); returns the f32 sum of the exps, so
/// softmax(scale * x)[i] ~ out[i] / sum (within one bf16 unit).
float exp_bf16_row(const float* x, size_t n, float scale, uint16_t* out);
/// In place: x[i] = exp(scale * (x[i] - max x)); returns their sum (softmax = x / sum).
float exp_row(float* x, size_t n, float scale);
/// Gelu (erf form, via a rational approximation with |error| < 2e-7), GeluTanh and Relu vectorised; other
/// activations fall back to the scalar reference.
void bias_act_row(float* y, const float* bias, size_t n, Act act);
void residual_layernorm_row(float* x, const float* y, const float* bias, const float* gamma, const float* beta, size_t n,
                            float eps);
/// int8 path: symmetric quantisation of one row, smoothed per channel first when inv_smooth is set
/// (x'[i] = x[i] * inv_smooth[i]): y = round(x' / scale), nearest even, scale = max|x'| / 127 (1 for zeros).
/// Equals kernels::quantize_row_s8 on x' (the scalar reference). Returns the scale.
float quantize_row_s8(const float* x, const float* inv_smooth, size_t n, int8_t* y);
/// int8 path: y[i] = acc[i] * row_scale * col_scale[i] + bias[i] (bias may be null); y may alias acc.
void dequant_row(const int32_t* acc, float row_scale, const float* col_scale, const float* bias, size_t n, float* y);
/// int8 path, asymmetric: kernels::quantize_row_u8 of the row smoothed first (x[i] * inv_smooth[i]) when
/// inv_smooth is set; the same bytes, scale and zero point as the scalar reference on the smoothed row.
float quantize_row_u8(const float* x, const float* inv_smooth, size_t n, uint8_t* y, int32_t* zero);
/// int8 path, asymmetric input: y[i] = (acc[i] - zero * colsum[i]) * row_scale * col_scale[i] + bias[i], colsum[i]
/// the sum of the int8 weights of output i (bias may be null); y may alias acc.
void dequant_row_zp(const int32_t* acc, float row_scale, int32_t zero, const int32_t* colsum, const float* col_scale,
                    const float* bias, size_t n, float* y);
/// The int8 products' epilogue of one row of n outputs, in one pass: v = (acc - zero * colsum) * row_scale *
/// col_scale (colsum null: symmetric input), + x[outliers[j]] * outlier_w[j * n + .] for each outlier channel j (the
/// exact f32 part, LLM.int8()-style), + bias, then act; into f32 `y` (may alias acc) or, when `y16` is set, bf16
/// (nearest even). act must be vectorised_act().
struct Int8Epilogue {
  float row_scale = 1.0f;
  int32_t zero = 0;
  const int32_t* colsum = nullptr;
  const float* col_scale = nullptr;
  const float* bias = nullptr;           // may be null
  const float* x = nullptr;              // the unquantised input row (read at the outlier channels only)
  const int* outliers = nullptr;         // n_outliers input channels
  size_t n_outliers = 0;
  const float* outlier_w = nullptr;      // [n_outliers, n]
  Act act = Act::None;
};
void int8_epilogue_row(const int32_t* acc, const Int8Epilogue& e, size_t n, float* y, uint16_t* y16);
/// Activations the SIMD kernels compute themselves (bias_act_row falls back to the scalar reference for the others).
bool vectorised_act(Act act);
/// The Highway target chosen on this CPU, e.g. "AVX3_SPR".
const char* target_name();

}  // namespace rerank::kernels::simd

#include "kernels/convert.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace rerank::kernels {

void f32_to_bf16_scalar(const float* x, uint16_t* y, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    uint32_t u;
    std::memcpy(&u, &x[i], 4);
    if ((u & 0x7f800000u) == 0) {
      y[i] = static_cast<uint16_t>((u >> 16) & 0x8000u);  // denormals flush to signed zero, as vcvtneps2bf16 does
    } else if ((u & 0x7fffffffu) > 0x7f800000u) {
      y[i] = static_cast<uint16_t>((u >> 16) | 0x40u);  // quiet NaN
    } else {
      u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest, ties to even
      y[i] = static_cast<uint16_t>(u >> 16);
    }
  }
}

__attribute__((target("avx512f,avx512bf16,avx512vl"))) static void f32_to_bf16_avx512(const float* x, uint16_t* y, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 v = _mm512_loadu_ps(x + i);
    __m256bh b = _mm512_cvtneps_pbh(v);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i), reinterpret_cast<__m256i>(b));
  }
  if (i < n) f32_to_bf16_scalar(x + i, y + i, n - i);
}

float quantize_row_s8(const float* x, int8_t* y, size_t n) {
  float mx = 0.0f;
  for (size_t i = 0; i < n; ++i) mx = std::max(mx, std::fabs(x[i]));
  const float scale = mx > 0.0f ? mx / 127.0f : 1.0f;
  const float inv = 1.0f / scale;
  for (size_t i = 0; i < n; ++i) {
    float v = std::nearbyint(x[i] * inv);
    y[i] = static_cast<int8_t>(std::max(-127.0f, std::min(127.0f, v)));
  }
  return scale;
}

float quantize_row_u8(const float* x, uint8_t* y, size_t n, int32_t* zero) {
  float lo = 0.0f, hi = 0.0f;
  for (size_t i = 0; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  const float scale = hi > lo ? (hi - lo) / 255.0f : 1.0f;
  const float inv = 1.0f / scale;
  const float z = std::nearbyint(-lo * inv);
  for (size_t i = 0; i < n; ++i) {
    float v = std::nearbyint(x[i] * inv) + z;
    y[i] = static_cast<uint8_t>(std::max(0.0f, std::min(255.0f, v)));
  }
  *zero = static_cast<int32_t>(z);
  return scale;
}

bool has_avx512_bf16() {
  static const bool yes = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512vl");
  }();
  return yes;
}

void f32_to_bf16(const float* x, uint16_t* y, size_t n) {
  if (has_avx512_bf16()) f32_to_bf16_avx512(x, y, n);
  else f32_to_bf16_scalar(x, y, n);
}

}  // namespace rerank::kernels

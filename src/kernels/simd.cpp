// Highway kernels: this file is compiled once per SIMD target by foreach_target.h.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>
#include <hwy/contrib/math/math-inl.h>

#include <algorithm>
#include <cmath>

#include "kernels/simd.hpp"

HWY_BEFORE_NAMESPACE();
namespace rerank::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using D = hn::ScalableTag<float>;
using V = hn::Vec<D>;

// Applies f to every full vector of x[0, n) and to the tail through a masked load / blended store.
template <class F>
HWY_INLINE void for_each_vec(float* HWY_RESTRICT x, size_t n, F f) {
  const D d;
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(f(hn::LoadU(d, x + i), i), d, x + i);
  if (i < n) {
    const auto m = hn::FirstN(d, n - i);
    hn::BlendedStore(f(hn::MaskedLoad(m, d, x + i), i), m, d, x + i);
  }
}

HWY_INLINE V load_tail(const float* p, size_t i, size_t n) {
  const D d;
  return i + hn::Lanes(d) <= n ? hn::LoadU(d, p + i) : hn::MaskedLoad(hn::FirstN(d, n - i), d, p + i);
}

// exp(x) for x <= 0 (softmax arguments after the max is subtracted): x clamped to -87 (exp is then below 1.7e-38,
// the bf16 rounding's concern only), x = n ln2 + r with |r| <= ln2/2, exp(r) by its degree-6 Taylor polynomial
// (relative error < 1.3e-7, below float's 6e-8 ulp scale twice over), 2^n put into the exponent bits. n is rounded
// by adding 1.5 * 2^23 (the float then holds n in its low mantissa bits, nearest even): three instructions instead
// of Round + ConvertTo's six.
HWY_INLINE V ExpNonPositive(D d, V x) {
  const hn::RebindToSigned<D> di;
  x = hn::Max(x, hn::Set(d, -87.0f));
  const V magic = hn::Set(d, 12582912.0f);
  const V t = hn::MulAdd(x, hn::Set(d, 1.44269504088896341f), magic);
  const V n = hn::Sub(t, magic);
  V r = hn::NegMulAdd(n, hn::Set(d, 0.693145751953125f), x);  // ln2 split hi + lo: exact n * hi
  r = hn::NegMulAdd(n, hn::Set(d, 1.428606765330187e-06f), r);
  V p = hn::Set(d, 1.0f / 720.0f);
  p = hn::MulAdd(p, r, hn::Set(d, 1.0f / 120.0f));
  p = hn::MulAdd(p, r, hn::Set(d, 1.0f / 24.0f));
  p = hn::MulAdd(p, r, hn::Set(d, 1.0f / 6.0f));
  p = hn::MulAdd(p, r, hn::Set(d, 0.5f));
  p = hn::MulAdd(p, r, hn::Set(d, 1.0f));
  p = hn::MulAdd(p, r, hn::Set(d, 1.0f));
  const auto e = hn::ShiftLeft<23>(hn::Add(hn::Sub(hn::BitCast(di, t), hn::BitCast(di, magic)), hn::Set(di, 127)));
  return hn::Mul(p, hn::BitCast(d, e));
}



// erf(x), Abramowitz & Stegun 7.1.26 refined: |error| < 1.5e-7 over all x. 1 / (1 + 0.3275911 |x|) by the 14-bit
// reciprocal estimate and one Newton step (relative error ~2^-28, below float's rounding) instead of a division,
// and exp(-x^2) by ExpNonPositive: a third of the cost of hn::Div + hn::Exp.
HWY_INLINE V Erf(D d, V x) {
  const V ax = hn::Abs(x);
  const V den = hn::MulAdd(hn::Set(d, 0.3275911f), ax, hn::Set(d, 1.0f));
  V t = hn::ApproximateReciprocal(den);
  t = hn::Mul(t, hn::NegMulAdd(den, t, hn::Set(d, 2.0f)));
  V p = hn::Set(d, 1.061405429f);
  p = hn::MulAdd(p, t, hn::Set(d, -1.453152027f));
  p = hn::MulAdd(p, t, hn::Set(d, 1.421413741f));
  p = hn::MulAdd(p, t, hn::Set(d, -0.284496736f));
  p = hn::MulAdd(p, t, hn::Set(d, 0.254829592f));
  p = hn::Mul(p, t);
  const V e = ExpNonPositive(d, hn::Neg(hn::Mul(ax, ax)));
  const V y = hn::NegMulAdd(p, e, hn::Set(d, 1.0f));  // 1 - p e
  return hn::CopySign(y, x);
}

// erf(x) for outputs rounded to bf16 (relative step 2^-8) anyway: Abramowitz & Stegun 7.1.28,
// 1 - 1 / (1 + a1|x| + ... + a6|x|^6)^16, |error| <= 3e-7, half of Erf's operations (no exp). |x| is clamped to 5
// (erf(5) = 1 - 2e-12) so the 16th power stays finite.
HWY_INLINE V ErfForBf16(D d, V x) {
  const V ax = hn::Min(hn::Abs(x), hn::Set(d, 5.0f));
  V p = hn::Set(d, 0.0000430638f);
  p = hn::MulAdd(p, ax, hn::Set(d, 0.0002765672f));
  p = hn::MulAdd(p, ax, hn::Set(d, 0.0001520143f));
  p = hn::MulAdd(p, ax, hn::Set(d, 0.0092705272f));
  p = hn::MulAdd(p, ax, hn::Set(d, 0.0422820123f));
  p = hn::MulAdd(p, ax, hn::Set(d, 0.0705230784f));
  p = hn::MulAdd(p, ax, hn::Set(d, 1.0f));
  p = hn::Mul(p, p);
  p = hn::Mul(p, p);
  p = hn::Mul(p, p);
  p = hn::Mul(p, p);
  V t = hn::ApproximateReciprocal(p);
  t = hn::Mul(t, hn::NegMulAdd(p, t, hn::Set(d, 2.0f)));
  return hn::CopySign(hn::Sub(hn::Set(d, 1.0f), t), x);
}

// Bits of v rounded to bf16 (nearest even, as f32_to_bf16; v finite), in the low half of each int32 lane (upper half
// zero, negative v included, so DemoteTo's saturation to uint16 keeps them). kNonNegative: v >= 0 is known (exps),
// the upper half is zero without the mask.
template <bool kNonNegative = false, class DI>
HWY_INLINE hn::Vec<DI> RoundBf16(DI di, V v) {
  const auto bits = hn::BitCast(di, v);
  const auto rounded = hn::Add(bits, hn::Add(hn::Set(di, 0x7FFF), hn::And(hn::ShiftRight<16>(bits), hn::Set(di, 1))));
  if constexpr (kNonNegative) return hn::ShiftRight<16>(rounded);
  return hn::And(hn::ShiftRight<16>(rounded), hn::Set(di, 0xFFFF));
}

// The largest of x[0, n) (-inf for n = 0).
HWY_INLINE float RowMax(const float* HWY_RESTRICT x, size_t n) {
  const D d;
  const size_t N = hn::Lanes(d);
  V vmax = hn::Set(d, -HUGE_VALF);
  size_t i = 0;
  for (; i + N <= n; i += N) vmax = hn::Max(vmax, hn::LoadU(d, x + i));
  if (i < n) vmax = hn::Max(vmax, hn::IfThenElse(hn::FirstN(d, n - i), hn::MaskedLoad(hn::FirstN(d, n - i), d, x + i), vmax));
  return hn::GetLane(hn::MaxOfLanes(d, vmax));
}

// x[i] = exp(scale * x[i] - scale * max x) in place; returns their sum.
float ExpRow(float* HWY_RESTRICT x, size_t n, float scale) {
  const D d;
  const V vs = hn::Set(d, scale), shift = hn::Mul(hn::Set(d, RowMax(x, n)), vs);
  V vsum = hn::Zero(d);
  for_each_vec(x, n, [&](V v, size_t j) {
    const V e = hn::IfThenElseZero(hn::FirstN(d, n - j), ExpNonPositive(d, hn::MulSub(v, vs, shift)));
    vsum = hn::Add(vsum, e);
    return e;
  });
  return hn::GetLane(hn::SumOfLanes(d, vsum));
}


// out[i] = bf16(exp(scale * x[i] - scale * max x)) (nearest even), x read only; returns the f32 sum of the exps.
float ExpBf16Row(const float* HWY_RESTRICT x, size_t n, float scale, uint16_t* HWY_RESTRICT out) {
  const D d;
  const hn::RebindToSigned<D> di;
  const hn::Rebind<uint16_t, D> d16;
  const size_t N = hn::Lanes(d);
  const V vs = hn::Set(d, scale), shift = hn::Mul(hn::Set(d, RowMax(x, n)), vs);
  V vsum = hn::Zero(d);
  size_t i = 0;
  for (; i + N <= n; i += N) {
    const V e = ExpNonPositive(d, hn::MulSub(hn::LoadU(d, x + i), vs, shift));
    vsum = hn::Add(vsum, e);
    hn::StoreU(hn::DemoteTo(d16, RoundBf16<true>(di, e)), d16, out + i);
  }
  if (i < n) {
    const auto m = hn::FirstN(d, n - i);
    const V e = hn::IfThenElseZero(m, ExpNonPositive(d, hn::MulSub(hn::MaskedLoad(m, d, x + i), vs, shift)));
    vsum = hn::Add(vsum, e);
    HWY_ALIGN uint16_t tail[HWY_MAX_BYTES / sizeof(float)];
    hn::Store(hn::DemoteTo(d16, RoundBf16<true>(di, e)), d16, tail);
    for (size_t j = 0; j < n - i; ++j) out[i + j] = tail[j];
  }
  return hn::GetLane(hn::SumOfLanes(d, vsum));
}

// softmax(scale * x) in place: the exps, then times 1 / their sum.
void SoftmaxRow(float* HWY_RESTRICT x, size_t n, float scale) {
  const V inv = hn::Set(D(), 1.0f / ExpRow(x, n, scale));
  for_each_vec(x, n, [&](V v, size_t) { return hn::Mul(v, inv); });
}

// act(v) for the activations vectorised_act() names; v itself for the others (None). `for_bf16`: the result is
// rounded to bf16 next (Gelu then takes ErfForBf16).
HWY_INLINE V Activate(D d, V v, Act act, bool for_bf16 = false) {
  switch (act) {
    case Act::Gelu: {
      const V u = hn::Mul(v, hn::Set(d, 0.70710678118654752f));
      return hn::Mul(hn::Mul(hn::Set(d, 0.5f), v), hn::Add(hn::Set(d, 1.0f), for_bf16 ? ErfForBf16(d, u) : Erf(d, u)));
    }
    case Act::GeluTanh: {
      const V inner = hn::Mul(hn::Set(d, 0.7978845608028654f), hn::MulAdd(hn::Mul(hn::Set(d, 0.044715f), v), hn::Mul(v, v), v));
      return hn::Mul(hn::Mul(hn::Set(d, 0.5f), v), hn::Add(hn::Set(d, 1.0f), hn::Tanh(d, inner)));
    }
    case Act::Relu:
      return hn::Max(v, hn::Zero(d));
    default:
      return v;
  }
}

void BiasActRow(float* HWY_RESTRICT y, const float* HWY_RESTRICT bias, size_t n, int act) {
  const D d;
  for_each_vec(y, n, [&](V v, size_t i) {
    if (bias) v = hn::Add(v, load_tail(bias, i, n));
    return Activate(d, v, static_cast<Act>(act));
  });
}

void ResidualLayerNormRow(float* HWY_RESTRICT x, const float* HWY_RESTRICT y, const float* HWY_RESTRICT bias,
                          const float* HWY_RESTRICT gamma, const float* HWY_RESTRICT beta, size_t n, float eps) {
  const D d;
  V vsum = hn::Zero(d);
  for_each_vec(x, n, [&](V v, size_t i) {
    if (y) v = hn::Add(v, load_tail(y, i, n));
    if (bias) v = hn::Add(v, load_tail(bias, i, n));
    vsum = hn::Add(vsum, hn::IfThenElseZero(hn::FirstN(d, n - i), v));
    return v;
  });
  const float mean = hn::GetLane(hn::SumOfLanes(d, vsum)) / static_cast<float>(n);
  const V vm = hn::Set(d, mean);
  V vvar = hn::Zero(d);
  for_each_vec(x, n, [&](V v, size_t i) {
    const V c = hn::IfThenElseZero(hn::FirstN(d, n - i), hn::Sub(v, vm));
    vvar = hn::MulAdd(c, c, vvar);
    return v;
  });
  const float inv = 1.0f / std::sqrt(hn::GetLane(hn::SumOfLanes(d, vvar)) / static_cast<float>(n) + eps);
  const V vi = hn::Set(d, inv);
  for_each_vec(x, n, [&](V v, size_t i) {
    return hn::MulAdd(hn::Mul(hn::Sub(v, vm), vi), load_tail(gamma, i, n), load_tail(beta, i, n));
  });
}

// x[i, i + lanes) (masked past n) times inv_smooth's (when set): the int8 paths' smoothed row.
HWY_INLINE V SmoothedLoad(const float* HWY_RESTRICT x, const float* HWY_RESTRICT inv_smooth, size_t i, size_t n) {
  const V v = load_tail(x, i, n);
  return inv_smooth ? hn::Mul(v, load_tail(inv_smooth, i, n)) : v;
}

// y[0, n) = q(i) for each vector start i (whole-number floats within T's range) as T: full vectors stored directly,
// the tail through an aligned buffer so nothing past n is written.
template <class T, class Q>
HWY_INLINE void StoreAsInt(T* HWY_RESTRICT y, size_t n, Q q) {
  const D d;
  const hn::RebindToSigned<D> di;
  const hn::Rebind<T, D> d8;
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(hn::DemoteTo(d8, hn::ConvertTo(di, q(i))), d8, y + i);
  if (i < n) {
    HWY_ALIGN T tail[HWY_MAX_BYTES / sizeof(float)];
    hn::Store(hn::DemoteTo(d8, hn::ConvertTo(di, q(i))), d8, tail);
    for (size_t j = 0; j < n - i; ++j) y[i + j] = tail[j];
  }
}

// Symmetric int8 quantisation of one row, optionally smoothed per channel first (x[i] * inv_smooth[i]):
// y = round(x' / scale) (nearest even, as std::nearbyint), scale = max|x'| / 127 (1 for an all-zero row).
float QuantizeRowS8(const float* HWY_RESTRICT x, const float* HWY_RESTRICT inv_smooth, size_t n, int8_t* HWY_RESTRICT y) {
  const D d;
  const size_t N = hn::Lanes(d);
  V vmax = hn::Zero(d);
  for (size_t i = 0; i < n; i += N) {
    vmax = hn::Max(vmax, hn::IfThenElseZero(hn::FirstN(d, n - i), hn::Abs(SmoothedLoad(x, inv_smooth, i, n))));
  }
  const float mx = hn::GetLane(hn::MaxOfLanes(d, vmax));
  const float scale = mx > 0.0f ? mx / 127.0f : 1.0f;
  const V inv = hn::Set(d, 1.0f / scale), lim = hn::Set(d, 127.0f);
  StoreAsInt(y, n, [&](size_t i) { return hn::Clamp(hn::Round(hn::Mul(SmoothedLoad(x, inv_smooth, i, n), inv)), hn::Neg(lim), lim); });
  return scale;
}

float QuantizeRowU8(const float* HWY_RESTRICT x, const float* HWY_RESTRICT inv_smooth, size_t n, uint8_t* HWY_RESTRICT y,
                    int32_t* zero) {
  const D d;
  const size_t N = hn::Lanes(d);
  V vlo = hn::Zero(d), vhi = hn::Zero(d);
  for (size_t i = 0; i < n; i += N) {  // masked-off lanes load as 0, which the 0-based range includes anyway
    const V v = SmoothedLoad(x, inv_smooth, i, n);
    vlo = hn::Min(vlo, v);
    vhi = hn::Max(vhi, v);
  }
  const float lo = hn::GetLane(hn::MinOfLanes(d, vlo)), hi = hn::GetLane(hn::MaxOfLanes(d, vhi));
  const float scale = hi > lo ? (hi - lo) / 255.0f : 1.0f;
  const float invs = 1.0f / scale;
  const float z = std::nearbyint(-lo * invs);
  const V inv = hn::Set(d, invs), vz = hn::Set(d, z), top = hn::Set(d, 255.0f);
  StoreAsInt(y, n, [&](size_t i) {
    return hn::Clamp(hn::Add(hn::Round(hn::Mul(SmoothedLoad(x, inv_smooth, i, n), inv)), vz), hn::Zero(d), top);
  });
  *zero = static_cast<int32_t>(z);
  return scale;
}

// y[i] = float(acc[i] - zero * colsum[i]) * row_scale * col_scale[i] (+ bias[i]); colsum may be null (zero point 0);
// y may alias acc (in place).
// simd::int8_epilogue_row with the activation and the output type fixed, the struct's fields in locals (y may alias
// acc, so nothing behind a pointer is assumed unchanged by a store) and the outlier values read once.
template <Act kAct, bool kBf16>
HWY_NOINLINE void Int8EpilogueLoop(const int32_t* acc, const simd::Int8Epilogue& e, size_t n, float* y,
                                   uint16_t* HWY_RESTRICT y16) {
  const D d;
  const hn::RebindToSigned<D> di;
  const hn::Rebind<uint16_t, D> d16;
  const size_t N = hn::Lanes(d);
  const V rs = hn::Set(d, e.row_scale);
  const auto vz = hn::Set(di, e.zero);
  const int32_t* colsum = e.colsum;
  const float *col_scale = e.col_scale, *bias = e.bias, *ow = e.outlier_w;
  constexpr size_t kLocal = 16;
  const size_t no = e.n_outliers, nl = std::min(no, kLocal);
  float ox[kLocal];
  for (size_t j = 0; j < nl; ++j) ox[j] = e.x[e.outliers[j]];
  for (size_t i = 0; i < n; i += N) {
    const auto m = hn::FirstN(d, n - i);
    const auto mi = hn::FirstN(di, n - i);
    auto a = hn::MaskedLoad(mi, di, acc + i);
    if (colsum) a = hn::Sub(a, hn::Mul(vz, hn::MaskedLoad(mi, di, colsum + i)));
    V v = hn::Mul(hn::ConvertTo(d, a), hn::Mul(rs, hn::MaskedLoad(m, d, col_scale + i)));
    for (size_t j = 0; j < nl; ++j) v = hn::MulAdd(hn::Set(d, ox[j]), hn::MaskedLoad(m, d, ow + j * n + i), v);
    for (size_t j = nl; j < no; ++j) v = hn::MulAdd(hn::Set(d, e.x[e.outliers[j]]), hn::MaskedLoad(m, d, ow + j * n + i), v);
    if (bias) v = hn::Add(v, hn::MaskedLoad(m, d, bias + i));
    v = Activate(d, v, kAct, kBf16);
    if constexpr (!kBf16) {
      hn::BlendedStore(v, m, d, y + i);
    } else {
      const auto h = hn::DemoteTo(d16, RoundBf16(di, v));
      if (i + N <= n) {
        hn::StoreU(h, d16, y16 + i);
      } else {
        HWY_ALIGN uint16_t tail[HWY_MAX_BYTES / sizeof(float)];
        hn::Store(h, d16, tail);
        for (size_t j = 0; j < n - i; ++j) y16[i + j] = tail[j];
      }
    }
  }
}

template <bool kBf16>
HWY_INLINE void Int8EpilogueAct(const int32_t* acc, const simd::Int8Epilogue& e, size_t n, float* y, uint16_t* y16) {
  switch (e.act) {
    case Act::Gelu:
      return Int8EpilogueLoop<Act::Gelu, kBf16>(acc, e, n, y, y16);
    case Act::GeluTanh:
      return Int8EpilogueLoop<Act::GeluTanh, kBf16>(acc, e, n, y, y16);
    case Act::Relu:
      return Int8EpilogueLoop<Act::Relu, kBf16>(acc, e, n, y, y16);
    default:
      return Int8EpilogueLoop<Act::None, kBf16>(acc, e, n, y, y16);
  }
}

// simd::int8_epilogue_row. acc and y may alias (each vector is loaded before it is stored).
void Int8EpilogueRow(const int32_t* acc, const simd::Int8Epilogue& e, size_t n, float* y, uint16_t* y16) {
  if (y16) {
    Int8EpilogueAct<true>(acc, e, n, y, y16);
  } else {
    Int8EpilogueAct<false>(acc, e, n, y, y16);
  }
}

}  // namespace rerank::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace rerank::kernels::simd {

HWY_EXPORT(SoftmaxRow);
HWY_EXPORT(BiasActRow);
HWY_EXPORT(ExpBf16Row);
HWY_EXPORT(ExpRow);
HWY_EXPORT(ResidualLayerNormRow);
HWY_EXPORT(QuantizeRowS8);
HWY_EXPORT(Int8EpilogueRow);
HWY_EXPORT(QuantizeRowU8);

void softmax_row(float* x, size_t n, float scale) { HWY_DYNAMIC_DISPATCH(SoftmaxRow)(x, n, scale); }

float exp_bf16_row(const float* x, size_t n, float scale, uint16_t* out) { return HWY_DYNAMIC_DISPATCH(ExpBf16Row)(x, n, scale, out); }

float exp_row(float* x, size_t n, float scale) { return HWY_DYNAMIC_DISPATCH(ExpRow)(x, n, scale); }

void bias_act_row(float* y, const float* bias, size_t n, Act act) {
  if (!vectorised_act(act)) {
    kernels::bias_act_row(y, bias, n, act);
    return;
  }
  HWY_DYNAMIC_DISPATCH(BiasActRow)(y, bias, n, static_cast<int>(act));
}

void residual_layernorm_row(float* x, const float* y, const float* bias, const float* gamma, const float* beta, size_t n,
                            float eps) {
  HWY_DYNAMIC_DISPATCH(ResidualLayerNormRow)(x, y, bias, gamma, beta, n, eps);
}

float quantize_row_s8(const float* x, const float* inv_smooth, size_t n, int8_t* y) {
  return HWY_DYNAMIC_DISPATCH(QuantizeRowS8)(x, inv_smooth, n, y);
}

void dequant_row(const int32_t* acc, float row_scale, const float* col_scale, const float* bias, size_t n, float* y) {
  dequant_row_zp(acc, row_scale, 0, nullptr, col_scale, bias, n, y);
}

float quantize_row_u8(const float* x, const float* inv_smooth, size_t n, uint8_t* y, int32_t* zero) {
  return HWY_DYNAMIC_DISPATCH(QuantizeRowU8)(x, inv_smooth, n, y, zero);
}

void dequant_row_zp(const int32_t* acc, float row_scale, int32_t zero, const int32_t* colsum, const float* col_scale,
                    const float* bias, size_t n, float* y) {
  Int8Epilogue e;
  e.row_scale = row_scale;
  e.zero = zero;
  e.colsum = colsum;
  e.col_scale = col_scale;
  e.bias = bias;
  HWY_DYNAMIC_DISPATCH(Int8EpilogueRow)(acc, e, n, y, nullptr);
}

void int8_epilogue_row(const int32_t* acc, const Int8Epilogue& e, size_t n, float* y, uint16_t* y16) {
  HWY_DYNAMIC_DISPATCH(Int8EpilogueRow)(acc, e, n, y, y16);
}

bool vectorised_act(Act act) { return act == Act::None || act == Act::Gelu || act == Act::GeluTanh || act == Act::Relu; }

const char* target_name() {
  int64_t t = hwy::SupportedTargets() & HWY_TARGETS;  // compiled and supported; lower bits are better targets
  return hwy::TargetName(t & -t);
}

}  // namespace rerank::kernels::simd
#endif

// Fast paths against the exact ones: Highway SIMD row kernels vs the scalar reference, the AVX512-BF16 conversion
// vs the scalar rounding, and whole-model bf16 / int8 scoring vs fp32.
#include <gtest/gtest.h>

#include <cblas.h>

#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <thread>
#include <tuple>

#include "kernels/convert.hpp"
#include "kernels/matmul_dnnl.hpp"
#include "kernels/ops.hpp"
#include "kernels/simd.hpp"
#include "model/layers.hpp"
#include "rerank/rerank.hpp"
#include "test_util.hpp"

using namespace rerank::kernels;

namespace {

std::vector<float> random_row(size_t n, float spread, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, spread);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// Sequences of the given lengths back to back over `ids` (all 0; ids.size() = the total), and an attention shape.
std::vector<rerank::model::Sequence> sequences_of(const std::vector<size_t>& lens, std::vector<int32_t>& ids) {
  size_t T = 0;
  for (size_t l : lens) T += l;
  ids.assign(T, 0);
  std::vector<rerank::model::Sequence> seqs;
  for (size_t i = 0, at = 0; i < lens.size(); at += lens[i++]) seqs.push_back({ids.data() + at, ids.data() + at, lens[i]});
  return seqs;
}

rerank::model::AttentionShape attention_shape(size_t H, size_t heads, float scale) {
  rerank::model::AttentionShape a;
  a.hidden = H;
  a.heads = heads;
  a.qkv_stride = 3 * H;
  a.scale = scale;
  return a;
}

// Lengths that exercise full vectors, tails and single elements.
const size_t kLengths[] = {1, 3, 15, 16, 17, 31, 33, 128, 338, 384, 1536};

}  // namespace

TEST(SimdKernels, SoftmaxMatchesScalar) {
  for (size_t n : kLengths) {
    auto a = random_row(n, 4.0f, static_cast<unsigned>(n)), b = a;
    softmax_row(a.data(), n, 0.125f);
    simd::softmax_row(b.data(), n, 0.125f);
    double sum = 0;
    for (size_t i = 0; i < n; ++i) {
      EXPECT_NEAR(a[i], b[i], 1e-6f * std::max(1.0f, a[i])) << "n=" << n << " i=" << i;
      sum += b[i];
    }
    EXPECT_NEAR(sum, 1.0, 1e-5) << n;
  }
}

TEST(SimdKernels, SoftmaxExtremeValues) {
  std::vector<float> a = {-1e30f, 0.0f, 80.0f, 80.0f, -80.0f}, b = a;
  softmax_row(a.data(), a.size(), 1.0f);
  simd::softmax_row(b.data(), b.size(), 1.0f);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(std::isfinite(b[i]));
    EXPECT_NEAR(a[i], b[i], 1e-6f);
  }
}

// The softmax without its division (attention divides the context rows instead): exp_row's values over their sum
// within 1e-6 of the scalar softmax; exp_bf16_row's bf16 exps over the returned sum within one bf16 unit (2^-8
// relative) + 1e-9 of it, x left as it was, nothing written past n.
TEST(SimdKernels, ExpRowsOverTheirSumAreTheSoftmax) {
  for (size_t n : kLengths) {
    for (float spread : {1.0f, 30.0f}) {
      const auto x = random_row(n, spread, static_cast<unsigned>(n) + 3);
      auto want = x, e = x;
      softmax_row(want.data(), n, 0.17f);
      const float sum = simd::exp_row(e.data(), n, 0.17f);
      auto x2 = x;
      std::vector<uint16_t> out(n + 1, 0xFFFF);
      const float sum16 = simd::exp_bf16_row(x2.data(), n, 0.17f, out.data());
      EXPECT_EQ(out[n], 0xFFFF) << "wrote past n = " << n;
      EXPECT_EQ(x2, x) << "exp_bf16_row wrote to its input";
      EXPECT_NEAR(sum, sum16, 1e-6f * sum);
      for (size_t i = 0; i < n; ++i) {
        ASSERT_NEAR(e[i] / sum, want[i], 1e-6f) << "n " << n << " i " << i;
        ASSERT_LE(std::fabs(bf16_to_f32(out[i]) / sum16 - want[i]), want[i] / 256.0f + 1e-9f) << "n " << n << " i " << i;
      }
    }
  }
}

TEST(SimdKernels, ActivationsMatchScalar) {
  for (Act act : {Act::None, Act::Gelu, Act::GeluTanh, Act::Relu, Act::Tanh, Act::Silu}) {
    for (size_t n : kLengths) {
      auto a = random_row(n, 3.0f, static_cast<unsigned>(n) + 7), b = a;
      auto bias = random_row(n, 0.5f, 99);
      bias_act_row(a.data(), bias.data(), n, act);
      simd::bias_act_row(b.data(), bias.data(), n, act);
      for (size_t i = 0; i < n; ++i) {
        EXPECT_NEAR(a[i], b[i], 2e-6f * std::max(1.0f, std::fabs(a[i]))) << "act=" << static_cast<int>(act) << " n=" << n;
      }
    }
  }
}

TEST(SimdKernels, LayerNormMatchesScalar) {
  for (size_t n : kLengths) {
    if (n < 2) continue;
    auto a = random_row(n, 2.0f, static_cast<unsigned>(n) + 1), b = a;
    auto y = random_row(n, 1.0f, 5), bias = random_row(n, 0.1f, 6), g = random_row(n, 1.0f, 7), be = random_row(n, 0.2f, 8);
    residual_layernorm_row(a.data(), y.data(), bias.data(), g.data(), be.data(), n, 1e-12f);
    simd::residual_layernorm_row(b.data(), y.data(), bias.data(), g.data(), be.data(), n, 1e-12f);
    for (size_t i = 0; i < n; ++i) EXPECT_NEAR(a[i], b[i], 2e-5f) << "n=" << n;
  }
}

TEST(Convert, Bf16DispatchedEqualsScalarBitForBit) {
  auto x = random_row(1000, 10.0f, 3);
  x.push_back(1.0f + 1.0f / 256.0f);  // a tie: rounds to even
  x.push_back(-0.0f);
  x.push_back(INFINITY);
  std::vector<uint16_t> a(x.size()), b(x.size());
  f32_to_bf16_scalar(x.data(), a.data(), x.size());
  f32_to_bf16(x.data(), b.data(), x.size());
  EXPECT_EQ(a, b);
  EXPECT_EQ(a[1000], 0x3F80);  // 1 + 2^-8 is halfway between bf16 1.0 and 1.0078125: ties to even -> 1.0
  EXPECT_EQ(a[1002], 0x7F80);
}

TEST(Convert, Int8QuantizationRoundTrips) {
  auto x = random_row(384, 2.0f, 4);
  std::vector<int8_t> q(x.size());
  float scale = quantize_row_s8(x.data(), q.data(), x.size());
  float mx = 0;
  for (float v : x) mx = std::max(mx, std::fabs(v));
  EXPECT_FLOAT_EQ(scale, mx / 127.0f);
  for (size_t i = 0; i < x.size(); ++i) EXPECT_LE(std::fabs(q[i] * scale - x[i]), scale / 2 + 1e-6f);
  std::vector<float> zeros(16, 0.0f);
  EXPECT_EQ(quantize_row_s8(zeros.data(), q.data(), 16), 1.0f);
}

// Per-channel SmoothQuant factors s in [0.25, 1.25) for row x: their inverses, and x smoothed (x[i] / s[i]).
std::pair<std::vector<float>, std::vector<float>> smoothed(const std::vector<float>& x, unsigned seed) {
  const size_t n = x.size();
  auto s = random_row(n, 1.0f, seed);
  std::vector<float> inv(n), xs(n);
  for (size_t i = 0; i < n; ++i) {
    inv[i] = 1.0f / (0.25f + std::fabs(s[i]));
    xs[i] = x[i] * inv[i];
  }
  return {inv, xs};
}

// The SIMD int8 quantisation against the scalar reference on the smoothed row: the same int8 values bit for bit
// (both round to nearest even from the same products) and the same scale.
TEST(SimdKernels, QuantizeRowS8MatchesScalar) {
  for (size_t n : kLengths) {
    auto x = random_row(n, 3.0f, static_cast<unsigned>(n) + 21);
    if (n > 4) x[n / 2] = 40.0f;  // an outlier channel
    const auto [inv, xs] = smoothed(x, 22);
    for (const float* smooth : {static_cast<const float*>(nullptr), static_cast<const float*>(inv.data())}) {
      std::vector<int8_t> want(n), got(n + 1, 99);
      const float ws = quantize_row_s8(smooth ? xs.data() : x.data(), want.data(), n);
      const float gs = simd::quantize_row_s8(x.data(), smooth, n, got.data());
      EXPECT_EQ(ws, gs) << n;
      EXPECT_EQ(got[n], 99) << "wrote past n = " << n;
      for (size_t i = 0; i < n; ++i) ASSERT_EQ(want[i], got[i]) << "n " << n << " i " << i;
    }
  }
  std::vector<float> zeros(20, 0.0f);
  std::vector<int8_t> q(20, 5);
  EXPECT_EQ(simd::quantize_row_s8(zeros.data(), nullptr, 20, q.data()), 1.0f);
  for (int8_t v : q) EXPECT_EQ(v, 0);
}

// The asymmetric u8 quantisation (the FFN-down input in the int8 mode): SIMD equals the scalar reference bit for bit
// (bytes, scale, zero point), with and without smoothing; a GELU-like row (>= -0.17) round-trips within half a step,
// and that step is about half the symmetric s8 one (the gained bit).
TEST(SimdKernels, QuantizeRowU8MatchesScalar) {
  for (size_t n : kLengths) {
    auto x = random_row(n, 1.5f, static_cast<unsigned>(n) + 41);
    for (auto& v : x) v = v < -0.17f ? -0.17f + 0.01f * std::fabs(v) : v;  // GELU outputs' range
    if (n > 4) x[n / 3] = 12.0f;
    const auto [inv, xs] = smoothed(x, 42);
    for (const float* smooth : {static_cast<const float*>(nullptr), static_cast<const float*>(inv.data())}) {
      std::vector<uint8_t> want(n), got(n + 1, 99);
      int32_t wz = -1, gz = -2;
      const float* ref = smooth ? xs.data() : x.data();
      const float ws = quantize_row_u8(ref, want.data(), n, &wz);
      const float gs = simd::quantize_row_u8(x.data(), smooth, n, got.data(), &gz);
      EXPECT_EQ(ws, gs) << n;
      EXPECT_EQ(wz, gz) << n;
      EXPECT_EQ(got[n], 99) << "wrote past n = " << n;
      for (size_t i = 0; i < n; ++i) {
        ASSERT_EQ(want[i], got[i]) << "n " << n << " i " << i;
        ASSERT_LE(std::fabs(gs * (static_cast<int>(got[i]) - gz) - ref[i]), 0.5f * gs + 1e-6f) << "n " << n << " i " << i;
      }
      if (!smooth && n > 4) {
        std::vector<int8_t> q8(n);
        EXPECT_LT(gs, 0.6f * quantize_row_s8(x.data(), q8.data(), n)) << n;
      }
    }
  }
  std::vector<float> zeros(20, 0.0f);
  std::vector<uint8_t> q(20, 5);
  int32_t z = -1;
  EXPECT_EQ(simd::quantize_row_u8(zeros.data(), nullptr, 20, q.data(), &z), 1.0f);
  EXPECT_EQ(z, 0);
  for (uint8_t v : q) EXPECT_EQ(v, 0);
}

// The int8 product with u8 inputs and outlier channels: oneDNN's u8 x s8 -> s32 equals the integer dot products
// exactly; the zero-point dequantisation equals (acc - zero * col_sum) * scales + bias within float rounding; the
// outlier channels (left out of the int8 product, weights zeroed there) are added back exactly, so an input with a
// huge channel costs the other channels no resolution: with it as an outlier the product stays within 1% of the
// largest output, without it the error is several times larger.
TEST(Int8Matmul, AsymmetricInputsAndOutlierChannels) {
  const int n = 70, k = 130;
  const size_t m = 19;
  auto w = random_row(static_cast<size_t>(n) * k, 0.1f, 51), x = random_row(m * k, 1.0f, 52), bias = random_row(n, 0.5f, 53);
  for (auto& v : x) v = v < -0.17f ? -0.17f : v;
  for (size_t r = 0; r < m; ++r) x[r * k + 11] = 60.0f + static_cast<float>(r);  // one huge channel
  const std::vector<int> outl = {11};
  double err[2] = {0, 0};
  for (int with : {0, 1}) {
    PackedLinear packed(w.data(), n, k, rerank::Precision::INT8, nullptr, with ? &outl : nullptr);
    ASSERT_EQ(packed.outliers().size(), static_cast<size_t>(with));
    MatmulCache cache;
    std::vector<int8_t> eye(static_cast<size_t>(k) * k, 0);
    for (int i = 0; i < k; ++i) eye[static_cast<size_t>(i) * k + i] = 1;
    std::vector<int32_t> w8(static_cast<size_t>(k) * n);
    cache.run_s8(packed, eye.data(), k, w8.data());
    for (int o = 0; o < n; ++o) {
      int32_t sum = 0;
      for (int i = 0; i < k; ++i) sum += w8[static_cast<size_t>(i) * n + o];
      ASSERT_EQ(packed.col_sum()[o], sum) << o;
      if (with) {
        ASSERT_EQ(w8[static_cast<size_t>(11) * n + o], 0) << "outlier weights left in the int8 product";
      }
    }
    std::vector<uint8_t> x8(m * k);
    std::vector<float> rs(m);
    std::vector<int32_t> zs(m);
    for (size_t r = 0; r < m; ++r) rs[r] = simd::quantize_row_u8(&x[r * k], packed.inv_smooth(), k, &x8[r * k], &zs[r]);
    std::vector<int32_t> acc(m * n);
    cache.run_u8(packed, x8.data(), m, acc.data());
    std::vector<float> y(m * n);
    double worst = 0.0, scale = 0.0;
    for (size_t r = 0; r < m; ++r) {
      for (int o = 0; o < n; ++o) {
        int32_t want = 0;
        for (int i = 0; i < k; ++i) want += static_cast<int32_t>(x8[r * k + i]) * w8[static_cast<size_t>(i) * n + o];
        ASSERT_EQ(acc[r * n + o], want) << "r " << r << " o " << o;
      }
      simd::dequant_row_zp(&acc[r * n], rs[r], zs[r], packed.col_sum(), packed.col_scale(), bias.data(), n, &y[r * n]);
      for (int o = 0; o < n; ++o) {
        const float want = static_cast<float>(acc[r * n + o] - zs[r] * packed.col_sum()[o]) * (rs[r] * packed.col_scale()[o]) + bias[o];
        ASSERT_NEAR(y[r * n + o], want, 1e-6f * std::fabs(want) + 1e-6f);
      }
      packed.add_outliers(&x[r * k], &y[r * n]);
      for (int o = 0; o < n; ++o) {
        double exact = bias[o];
        for (int i = 0; i < k; ++i) exact += static_cast<double>(x[r * k + i]) * w[static_cast<size_t>(o) * k + i];
        worst = std::max(worst, std::fabs(exact - y[r * n + o]));
        scale = std::max(scale, std::fabs(exact));
      }
    }
    err[with] = worst / scale;
    std::printf("[ measured ] u8 int8 product %s the outlier channel: worst |error| / max |y| = %.4f\n", with ? "with" : "without",
                err[with]);
  }
  EXPECT_LT(err[1], 0.01);
  EXPECT_GT(err[0], 3 * err[1]);
}

// The fused int8 epilogue (dequantise, zero point, outlier channels, bias, activation, bf16 rounding in one pass)
// against the same steps done one by one with the scalar references (kernels::bias_act_row, f32_to_bf16_scalar):
// f32 output within 2e-6 relative (FMA vs separate rounding of the outlier terms), bf16 output within one bf16 unit
// of the reference's rounding, for every vectorised activation, symmetric and asymmetric rows, row widths with and
// without a vector tail, outputs of both signs, and f32 output written over the accumulator itself.
TEST(Int8Matmul, FusedEpilogueMatchesTheStepsOneByOne) {
  using rerank::kernels::Act;
  for (size_t n : {1u, 15u, 16u, 37u, 1536u}) {
    const size_t k = 9;
    std::mt19937 rng(static_cast<unsigned>(n));
    std::uniform_int_distribution<int32_t> acc_dist(-40000, 40000);
    std::vector<int32_t> acc(n), colsum(n);
    for (size_t i = 0; i < n; ++i) {
      acc[i] = acc_dist(rng);
      colsum[i] = acc_dist(rng) / 200;
    }
    auto col_scale = random_row(n, 1e-4f, 7), bias = random_row(n, 0.5f, 8), x = random_row(k, 3.0f, 9);
    const std::vector<int> outl = {2, 7};
    auto ow = random_row(outl.size() * n, 0.2f, 10);
    for (Act act : {Act::None, Act::Gelu, Act::GeluTanh, Act::Relu}) {
      ASSERT_TRUE(simd::vectorised_act(act));
      for (int32_t zero : {0, 93}) {
        for (bool with_outliers : {false, true}) {
          simd::Int8Epilogue e;
          e.row_scale = 0.37f;
          e.zero = zero;
          e.colsum = zero ? colsum.data() : nullptr;
          e.col_scale = col_scale.data();
          e.bias = bias.data();
          e.x = x.data();
          e.outliers = outl.data();
          e.n_outliers = with_outliers ? outl.size() : 0;
          e.outlier_w = ow.data();
          e.act = act;
          std::vector<float> want(n);
          for (size_t i = 0; i < n; ++i) {
            float v = static_cast<float>(acc[i] - (zero ? zero * colsum[i] : 0)) * (e.row_scale * col_scale[i]);
            for (size_t j = 0; j < e.n_outliers; ++j) v += x[static_cast<size_t>(outl[j])] * ow[j * n + i];
            want[i] = v;
          }
          rerank::kernels::bias_act_row(want.data(), bias.data(), n, act);
          std::vector<uint16_t> want16(n), got16(n, 0xFFFF);
          rerank::kernels::f32_to_bf16_scalar(want.data(), want16.data(), n);
          std::vector<int32_t> inplace = acc;  // f32 output over the accumulator
          float* got = reinterpret_cast<float*>(inplace.data());
          simd::int8_epilogue_row(inplace.data(), e, n, got, nullptr);
          simd::int8_epilogue_row(acc.data(), e, n, nullptr, got16.data());
          bool negative = false;
          for (size_t i = 0; i < n; ++i) {
            negative |= want[i] < 0.0f;
            ASSERT_NEAR(got[i], want[i], 2e-6f * std::fabs(want[i]) + 1e-6f) << "n " << n << " i " << i;
            const float w16 = rerank::kernels::bf16_to_f32(want16[i]), g16 = rerank::kernels::bf16_to_f32(got16[i]);
            ASSERT_NEAR(g16, w16, std::fabs(w16) / 128.0f + 1e-30f) << "bf16, n " << n << " i " << i;
          }
          if (n > 15 && act != Act::Relu) {
            EXPECT_TRUE(negative) << "the case must hold negative outputs";
          }
        }
      }
    }
  }
}

// The int8 product: s8 x s8 -> s32 through oneDNN equals the integer dot products exactly; the dequantisation
// (row scale x column scale + bias) equals the scalar formula within float rounding (1e-6 relative); and the whole
// quantised product stays within the int8 error bound of the fp32 one, with and without SmoothQuant factors (which
// must not change the product's meaning: x W^T = (x / s)(W s)^T).
TEST(Int8Matmul, ExactIntegerProductAndDequantisation) {
  const int n = 70, k = 130;
  const size_t m = 19;
  auto w = random_row(static_cast<size_t>(n) * k, 0.1f, 31), x = random_row(m * k, 1.0f, 32), bias = random_row(n, 0.5f, 33);
  for (size_t r = 0; r < m; ++r) x[r * k + 7] *= 30.0f;  // an outlier input channel, as LayerNorm outputs have
  std::vector<float> smooth(k, 1.0f);
  smooth[7] = 8.0f;
  for (const float* sm : {static_cast<const float*>(nullptr), static_cast<const float*>(smooth.data())}) {
    PackedLinear packed(w.data(), n, k, rerank::Precision::INT8, sm);
    EXPECT_EQ(packed.inv_smooth() != nullptr, sm != nullptr);
    // the int8 weights, recovered from the packed matrix's scales by probing with unit rows
    MatmulCache cache;
    std::vector<int8_t> eye(static_cast<size_t>(k) * k, 0);
    for (int i = 0; i < k; ++i) eye[static_cast<size_t>(i) * k + i] = 1;
    std::vector<int32_t> w8(static_cast<size_t>(k) * n);  // [k, n]: row i = column i of W8
    cache.run_s8(packed, eye.data(), k, w8.data());
    std::vector<int8_t> x8(m * k);
    std::vector<float> rs(m);
    for (size_t r = 0; r < m; ++r) rs[r] = simd::quantize_row_s8(&x[r * k], packed.inv_smooth(), k, &x8[r * k]);
    std::vector<int32_t> acc(m * n);
    cache.run_s8(packed, x8.data(), m, acc.data());
    for (size_t r = 0; r < m; ++r) {
      for (int o = 0; o < n; ++o) {
        int32_t want = 0;
        for (int i = 0; i < k; ++i) {
          const int32_t wi = w8[static_cast<size_t>(i) * n + o];
          ASSERT_LE(std::abs(wi), 127);
          want += static_cast<int32_t>(x8[r * k + i]) * wi;
        }
        ASSERT_EQ(acc[r * n + o], want) << "r " << r << " o " << o;
      }
    }
    std::vector<float> y(m * n);
    double worst = 0.0, scale = 0.0;
    for (size_t r = 0; r < m; ++r) {
      simd::dequant_row(&acc[r * n], rs[r], packed.col_scale(), bias.data(), n, &y[r * n]);
      for (int o = 0; o < n; ++o) {
        const float want = static_cast<float>(acc[r * n + o]) * (rs[r] * packed.col_scale()[o]) + bias[o];
        ASSERT_NEAR(y[r * n + o], want, 1e-6f * std::fabs(want) + 1e-7f);
        double exact = bias[o];
        for (int i = 0; i < k; ++i) exact += static_cast<double>(x[r * k + i]) * w[static_cast<size_t>(o) * k + i];
        worst = std::max(worst, std::fabs(exact - y[r * n + o]));
        scale = std::max(scale, std::fabs(exact));
      }
    }
    // int8 on both sides: each term off by at most half a step of x' and of W s, so |error| <= sum of those,
    // bounded here by 4% of the largest output (measured: 2.9% without, 0.9% with smoothing)
    std::printf("[ measured ] int8 product %s smoothing: worst |error| / max |y| = %.4f\n", sm ? "with" : "without",
                worst / scale);
    EXPECT_LT(worst / scale, 0.04);
  }
}

// The fused bf16 product (bias + activation as oneDNN post-ops, bf16 or f32 output) against the unfused one: bf16
// product to f32, then the scalar reference bias + activation, then the scalar bf16 rounding. Tolerance: one bf16
// unit in the last place (2^-8 relative) plus 1e-5 absolute (oneDNN's gelu_tanh computes 1 + tanh(u) and loses
// relative precision where that cancels, for results near 0 on the negative side); the f32
// output with a bias only: 1e-5 relative (the same products, the bias added in another place).
TEST(FusedMatmul, Bf16BiasActivationMatchesUnfused) {
  const int n = 200, k = 96;
  const size_t m = 37;
  auto w = random_row(static_cast<size_t>(n) * k, 0.1f, 11), bias = random_row(n, 0.5f, 12), x = random_row(m * k, 1.0f, 13);
  PackedLinear packed(w.data(), n, k, rerank::Precision::BF16);
  MatmulCache cache;
  std::vector<uint16_t> x16(x.size());
  f32_to_bf16_scalar(x.data(), x16.data(), x.size());
  std::vector<float> ref(m * n);
  cache.run(packed, x16.data(), m, ref.data());
  for (Act act : {Act::Gelu, Act::GeluTanh, Act::Relu, Act::None}) {
    std::vector<float> want = ref;
    for (size_t r = 0; r < m; ++r) bias_act_row(&want[r * n], bias.data(), n, act);
    std::vector<uint16_t> want16(want.size()), got16(want.size());
    f32_to_bf16_scalar(want.data(), want16.data(), want.size());
    cache.run_fused(packed, x16.data(), m, got16.data(), true, bias.data(), act);
    for (size_t i = 0; i < want.size(); ++i) {
      const float a = bf16_to_f32(got16[i]), b = bf16_to_f32(want16[i]);
      ASSERT_LE(std::fabs(a - b), std::fabs(b) / 256.0f + 1e-5f) << "act " << static_cast<int>(act) << " i " << i;
    }
  }
  std::vector<float> got(m * n), want = ref;
  for (size_t r = 0; r < m; ++r) bias_act_row(&want[r * n], bias.data(), n, Act::None);
  cache.run_fused(packed, x16.data(), m, got.data(), false, bias.data(), Act::None);
  for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-5f * std::fabs(want[i]) + 1e-6f) << i;
  cache.run_fused(packed, x16.data(), m, got.data(), false, nullptr, Act::None);  // no bias: the plain product
  for (size_t i = 0; i < ref.size(); ++i) ASSERT_NEAR(got[i], ref[i], 1e-5f * std::fabs(ref[i]) + 1e-6f) << i;
}

// The bf16 attention pads each sequence to a multiple of 16 rows: a sequence's context is bit-identical alone and
// packed between others, and within bf16 rounding (probabilities and context, 2^-8 relative: 0.03 on these N(0, 1) values; a wrong head or
// row is off by ~1) of the fp32 attention on the same values. attention_first_token gives each sequence's first
// context row: fp32 within 1e-5 of attention()'s, bf16 within one bf16 unit + 2e-3 (f32 sums in another order may
// round a probability the other way); with a sliding window too.
TEST(Attention, Bf16PackedBatchAndFirstToken) {
  using rerank::model::Sequence;
  const size_t H = 64, heads = 4, ld = 3 * H;
  const std::vector<size_t> lens = {37, 1, 16, 50};
  std::vector<int32_t> ids;
  const std::vector<Sequence> all = sequences_of(lens, ids);
  const size_t T = ids.size();
  auto vals = random_row(T * ld, 1.0f, 21);
  std::vector<uint16_t> qkv16(T * ld);
  f32_to_bf16_scalar(vals.data(), qkv16.data(), qkv16.size());
  rerank::ThreadPool pool(2);
  rerank::model::AttentionShape a = attention_shape(H, heads, 0.25f);
  a.bf16_io = true;
  // context rows of `seqs` (rows [first, first + their tokens) of qkv16) with bf16 in and out
  auto run16 = [&](const std::vector<Sequence>& seqs, size_t first, rerank::model::Scratch& s) {
    rerank::model::prepare_batch(seqs, 1, 0, 1 << 20, s, pool);
    const size_t t = s.offsets.back();
    s.qkv16.assign(qkv16.begin() + static_cast<long>(first * ld), qkv16.begin() + static_cast<long>((first + t) * ld));
    s.ctx16.assign(t * H, 0);
    rerank::model::attention(seqs, a, true, s, pool);
    return s.ctx16;
  };
  rerank::model::Scratch s;
  const std::vector<uint16_t> batch = run16(all, 0, s);
  for (size_t i = 0, at = 0; i < lens.size(); at += lens[i++]) {
    rerank::model::Scratch one;
    const auto alone = run16({all[i]}, at, one);
    ASSERT_TRUE(std::equal(alone.begin(), alone.end(), batch.begin() + static_cast<long>(at * H))) << "sequence " << i;
  }
  // the first tokens' rows: bf16
  std::vector<uint16_t> q16(lens.size() * H);
  for (size_t i = 0; i < lens.size(); ++i) std::copy_n(&qkv16[s.offsets[i] * ld], H, &q16[i * H]);
  rerank::model::attention_first_token(all, a, true, nullptr, q16.data(), H, s, pool);
  for (size_t i = 0; i < lens.size(); ++i) {
    for (size_t j = 0; j < H; ++j) {
      const float want = bf16_to_f32(batch[s.offsets[i] * H + j]), got = bf16_to_f32(s.ctx16[i * H + j]);
      ASSERT_LE(std::fabs(got - want), std::fabs(want) / 128.0f + 2e-3f) << "sequence " << i << " column " << j;
    }
  }
  // fp32 on the same (bf16-valued) inputs: the reference for the bf16 path, and for the fp32 first-token rows
  a.bf16_io = false;
  s.qkv.resize(T * ld);
  for (size_t i = 0; i < T * ld; ++i) s.qkv[i] = bf16_to_f32(qkv16[i]);
  s.ctx.assign(T * H, 0.0f);
  rerank::model::attention(all, a, false, s, pool);
  const std::vector<float> ref = s.ctx;
  for (size_t i = 0; i < T * H; ++i) ASSERT_NEAR(bf16_to_f32(batch[i]), ref[i], 0.03) << "element " << i;
  std::vector<float> q(lens.size() * H);
  for (size_t i = 0; i < lens.size(); ++i) std::copy_n(&s.qkv[s.offsets[i] * ld], H, &q[i * H]);
  rerank::model::attention_first_token(all, a, false, q.data(), nullptr, H, s, pool);
  for (size_t i = 0; i < lens.size(); ++i) {
    for (size_t j = 0; j < H; ++j) ASSERT_NEAR(s.ctx[i * H + j], ref[s.offsets[i] * H + j], 1e-5) << "sequence " << i;
  }
  // a sliding window (ModernBERT's local layers): the first token sees keys 0..window; f32 in, fp32 and bf16 paths
  a.window = 8;
  for (bool bf16 : {false, true}) {
    s.ctx.assign(T * H, 0.0f);
    rerank::model::attention(all, a, bf16, s, pool);
    const std::vector<float> full = s.ctx;
    rerank::model::attention_first_token(all, a, bf16, q.data(), nullptr, H, s, pool);
    for (size_t i = 0; i < lens.size(); ++i) {
      for (size_t j = 0; j < H; ++j) {
        const float want = full[s.offsets[i] * H + j];
        ASSERT_NEAR(s.ctx[i * H + j], want, bf16 ? std::fabs(want) / 128.0f + 2e-3 : 1e-5) << "window, bf16 " << bf16;
      }
    }
  }
}

// fp32 attention against a double-precision scalar softmax(Q K^T * scale) V per (sequence, head): the batched oneDNN
// path (every sequence fits; a window masked), and OpenBLAS's banded path (a window on a sequence over 8 windows long).
// Tolerance 1e-5 absolute on N(0, 1) values (context entries are weighted means of V, |v| < 6): fp32 sums of ~300
// terms in another order.
TEST(Attention, Fp32PathsMatchScalarReference) {
  using rerank::model::Sequence;
  const size_t H = 64, heads = 4, ld = 3 * H, dh = H / heads;
  for (const auto& [lens, window] : std::vector<std::pair<std::vector<size_t>, size_t>>{
           {{37, 1, 16, 50, 300}, 0}, {{37, 1, 16, 50}, 8}, {{37, 300, 5}, 8}}) {
    std::vector<int32_t> ids;
    const std::vector<Sequence> seqs = sequences_of(lens, ids);
    const size_t T = ids.size();
    const auto vals = random_row(T * ld, 1.0f, 7 + static_cast<unsigned>(window + lens.size()));
    rerank::ThreadPool pool(2);
    rerank::model::AttentionShape a = attention_shape(H, heads, 0.25f);
    a.window = window;
    rerank::model::Scratch s;
    rerank::model::prepare_batch(seqs, 1, 0, 1 << 20, s, pool);
    s.qkv = vals;
    s.ctx.assign(T * H, -1.0f);
    rerank::model::attention(seqs, a, false, s, pool);
    for (size_t i = 0, off = 0; i < lens.size(); off += lens[i++]) {
      for (size_t h = 0; h < heads; ++h) {
        for (size_t r = 0; r < lens[i]; ++r) {
          const size_t lo = window && r > window ? r - window : 0, hi = window ? std::min(lens[i], r + window + 1) : lens[i];
          std::vector<double> p(hi - lo);
          double mx = -1e300, sum = 0.0;
          for (size_t k = lo; k < hi; ++k) {
            double dot = 0.0;
            for (size_t d = 0; d < dh; ++d) dot += double(vals[(off + r) * ld + h * dh + d]) * vals[(off + k) * ld + H + h * dh + d];
            p[k - lo] = dot * a.scale;
            mx = std::max(mx, p[k - lo]);
          }
          for (double& x : p) sum += (x = std::exp(x - mx));
          for (size_t d = 0; d < dh; ++d) {
            double want = 0.0;
            for (size_t k = lo; k < hi; ++k) want += p[k - lo] / sum * vals[(off + k) * ld + 2 * H + h * dh + d];
            ASSERT_NEAR(s.ctx[(off + r) * H + h * dh + d], want, 1e-5)
                << "window " << window << " sequence " << i << " head " << h << " row " << r << " column " << d;
          }
        }
      }
    }
  }
}

// The fp32 fast path (oneDNN on prepacked weights) against OpenBLAS's sgemm on the plain weights, the exact
// reference the encoders used before: same products up to summation order. Tolerance: 1e-5 relative to the row's
// sum of |x||w| (fp32 rounding of a k-term dot product), over shapes with tails (m, n not multiples of 16).
TEST(PackedMatmul, Fp32MatchesOpenBlas) {
  for (auto [m, n, k] : {std::tuple<size_t, int, int>{37, 200, 96}, {128, 384, 384}, {5, 1536, 384}, {130, 384, 1536}, {1, 3, 7}}) {
    auto w = random_row(static_cast<size_t>(n) * k, 0.1f, 21), x = random_row(m * k, 1.0f, 22);
    PackedLinear packed(w.data(), n, k, rerank::Precision::FP32);
    MatmulCache cache;
    std::vector<float> got(m * n, -1.0f), want(m * n);
    cache.run(packed, x.data(), m, got.data());
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m), n, k, 1.0f, x.data(), k, w.data(), k, 0.0f,
                want.data(), n);
    for (size_t r = 0; r < m; ++r) {
      for (int o = 0; o < n; ++o) {
        float mag = 0.0f;
        for (int i = 0; i < k; ++i) mag += std::fabs(x[r * k + i] * w[static_cast<size_t>(o) * k + i]);
        ASSERT_NEAR(got[r * n + o], want[r * n + o], 1e-5f * mag + 1e-7f) << "m " << m << " n " << n << " k " << k;
      }
    }
  }
}

// Whole-model: bf16 and int8 scores stay close to fp32 and keep the ranking. The random-weight fixture is a
// harsh case (logits spread over ~0.01); the bounds below are what these modes must never exceed on it.
TEST(Precision, FastModesTrackFp32) {
  auto model = rerank::Model::load(rerank::test::data("encoders/models/ce-tiny"));
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& c : rerank::test::read_jsonl(rerank::test::data("encoders/golden.jsonl"))) {
    if (c["model"] == "ce-tiny" && c["max_length"] == 512) pairs.emplace_back(c["query"], c["document"]);
  }
  rerank::CrossEncoder exact(model, {.threads = 2});
  auto ref = exact.predict_scores(pairs);
  for (auto [p, tol] : {std::pair{rerank::Precision::BF16, 0.02}, std::pair{rerank::Precision::INT8, 0.02}}) {
    rerank::CrossEncoder fast(model, {.threads = 2, .precision = p});
    auto got = fast.predict_scores(pairs);
    auto f = rerank::compare_rankings({ref}, {got}, 10);
    EXPECT_LT(f.max_abs_diff, tol) << rerank::precision_name(p);
    EXPECT_GT(f.mean_spearman, 0.9) << rerank::precision_name(p);
    // and batch invariance holds in the fast modes too (per-row quantisation, no padding)
    rerank::CrossEncoder one(model, {.threads = 1, .batch_size = 1, .precision = p});
    for (size_t i = 0; i < 5; ++i) EXPECT_NEAR(one.predict_scores({pairs[i]})[0], got[i], 1e-5);
  }
}

// The int8 mode's ranking on the fixture, query by query, against the fp32 one: int8 products (Q/K/V and FFN up,
// SmoothQuant-calibrated, outlier channels exact in f32) must keep each query's order within the stated bounds (measured on this fixture: see
// the printed line; the bounds leave room for rounding differences between CPUs, not for a wrong product).
TEST(Precision, Int8KeepsFixtureRanking) {
  auto model = rerank::Model::load(rerank::test::data("encoders/models/ce-tiny"));
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> by_query;
  for (const auto& c : rerank::test::read_jsonl(rerank::test::data("encoders/golden.jsonl"))) {
    if (c["model"] == "ce-tiny" && c["max_length"] == 512) by_query[c["query"]].emplace_back(c["query"], c["document"]);
  }
  rerank::CrossEncoder exact(model, {.threads = 2});
  rerank::CrossEncoder int8(model, {.threads = 2, .precision = rerank::Precision::INT8});
  std::vector<std::vector<float>> ref, got;
  for (const auto& [q, pairs] : by_query) {
    if (pairs.size() < 5) continue;
    ref.push_back(exact.predict_scores(pairs));
    got.push_back(int8.predict_scores(pairs));
  }
  ASSERT_GE(ref.size(), 1u);
  auto f = rerank::compare_rankings(ref, got, 3);
  std::printf("[ measured ] int8 vs fp32 on ce-tiny: %zu queries, Spearman mean %.4f min %.4f, top-3 overlap %.3f, max |d| %.2e\n",
              ref.size(), f.mean_spearman, f.min_spearman, f.mean_top_overlap, f.max_abs_diff);
  EXPECT_GE(f.mean_spearman, 0.95);
  EXPECT_GE(f.mean_top_overlap, 0.9);
  EXPECT_LT(f.max_abs_diff, 0.01);
}

// One Model shared by threads that start in different precisions at once: each precision's packs are built once
// under its own lock (INT8's SmoothQuant calibration runs an fp32 encode, which takes FP32's lock meanwhile), with no
// deadlock, and every thread gets the scores a model used by one thread gives.
TEST(Precision, PacksBuiltOnceAcrossThreads) {
  const auto dir = rerank::test::data("encoders/models/ce-tiny");
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& c : rerank::test::read_jsonl(rerank::test::data("encoders/golden.jsonl"))) {
    if (c["model"] == "ce-tiny" && c["max_length"] == 512 && pairs.size() < 8) pairs.emplace_back(c["query"], c["document"]);
  }
  const rerank::Precision order[] = {rerank::Precision::INT8, rerank::Precision::FP32, rerank::Precision::BF16,
                                     rerank::Precision::INT8, rerank::Precision::FP32, rerank::Precision::BF16};
  std::map<rerank::Precision, std::vector<float>> want;
  for (rerank::Precision p : {rerank::Precision::FP32, rerank::Precision::BF16, rerank::Precision::INT8})
    want[p] = rerank::CrossEncoder(rerank::Model::load(dir), {.threads = 1, .precision = p}).predict_scores(pairs);
  auto shared = rerank::Model::load(dir);
  std::vector<std::vector<float>> got(std::size(order));
  std::vector<std::thread> threads;
  for (size_t t = 0; t < std::size(order); ++t)
    threads.emplace_back([&, t] { got[t] = rerank::CrossEncoder(shared, {.threads = 1, .precision = order[t]}).predict_scores(pairs); });
  for (auto& th : threads) th.join();
  for (size_t t = 0; t < std::size(order); ++t) {
    ASSERT_EQ(got[t].size(), pairs.size());
    for (size_t i = 0; i < pairs.size(); ++i) EXPECT_EQ(got[t][i], want[order[t]][i]) << rerank::precision_name(order[t]) << " pair " << i;
  }
}

TEST(Fidelity, SpearmanAndOverlap) {
  EXPECT_DOUBLE_EQ(rerank::spearman({1, 2, 3, 4}, {10, 20, 30, 40}), 1.0);
  EXPECT_DOUBLE_EQ(rerank::spearman({1, 2, 3, 4}, {4, 3, 2, 1}), -1.0);
  // scipy.stats.spearmanr([1,2,3,4,5],[2,1,4,3,5]).correlation == 0.8
  EXPECT_NEAR(rerank::spearman({1, 2, 3, 4, 5}, {2, 1, 4, 3, 5}), 0.8, 1e-12);
  auto f = rerank::compare_rankings({{5, 4, 3, 2, 1}}, {{5, 4, 3, 1, 2}}, 3);
  EXPECT_DOUBLE_EQ(f.mean_top_overlap, 1.0);
  EXPECT_DOUBLE_EQ(f.max_abs_diff, 1.0);
  f = rerank::compare_rankings({{5, 4, 3, 2, 1}}, {{1, 4, 3, 2, 5}}, 2);
  EXPECT_DOUBLE_EQ(f.mean_top_overlap, 0.5);
}

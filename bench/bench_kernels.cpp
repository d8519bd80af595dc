// Micro-benchmarks of the engine's kernels at the shapes of cross-encoder/ms-marco-MiniLM-L-6-v2 (hidden 384,
// intermediate 1536, 12 heads, ~338-token pairs): the GEMM backends per precision, the row kernels scalar vs SIMD,
// and the attention of one sequence. Reports numbers; asserts nothing (tests hold correctness).
//
//   make bench        # builds with -DRERANK_BUILD_BENCH=ON and runs this
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <random>
#include <vector>

#include "kernels/convert.hpp"
#include "kernels/matmul_dnnl.hpp"
#include "kernels/ops.hpp"
#include "kernels/simd.hpp"

using namespace rerank::kernels;

namespace {

std::vector<float> random_vec(size_t n, unsigned seed = 1) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

constexpr int kK = 384, kN = 1536;

benchmark::Counter gflops(double flop) {
  return benchmark::Counter(flop, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

void BM_Sgemm(benchmark::State& st) {
  const int m = static_cast<int>(st.range(0));
  openblas_set_num_threads(1);
  auto x = random_vec(static_cast<size_t>(m) * kK), w = random_vec(static_cast<size_t>(kN) * kK, 2);
  std::vector<float> y(static_cast<size_t>(m) * kN);
  for (auto _ : st) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, kN, kK, 1.0f, x.data(), kK, w.data(), kK, 0.0f, y.data(), kN);
    benchmark::DoNotOptimize(y.data());
  }
  st.counters["GFLOP/s"] = gflops(2.0 * m * kN * kK / 1e9);
}
BENCHMARK(BM_Sgemm)->Arg(128)->Arg(338)->Arg(2048)->Unit(benchmark::kMicrosecond);

void BM_DnnlGemm(benchmark::State& st, rerank::Precision p) {
  const int m = static_cast<int>(st.range(0));
  auto x = random_vec(static_cast<size_t>(m) * kK), w = random_vec(static_cast<size_t>(kN) * kK, 2);
  PackedLinear packed(w.data(), kN, kK, p);
  MatmulCache cache;
  std::vector<uint16_t> x16(x.size());
  std::vector<int8_t> x8(x.size());
  std::vector<float> scales(static_cast<size_t>(m));
  std::vector<float> y(static_cast<size_t>(m) * kN);
  for (auto _ : st) {
    if (p == rerank::Precision::FP32) {
      cache.run(packed, x.data(), static_cast<size_t>(m), y.data());
    } else if (p == rerank::Precision::BF16) {
      f32_to_bf16(x.data(), x16.data(), x.size());
      cache.run(packed, x16.data(), static_cast<size_t>(m), y.data());
    } else {
      for (int r = 0; r < m; ++r) scales[r] = quantize_row_s8(&x[static_cast<size_t>(r) * kK], &x8[static_cast<size_t>(r) * kK], kK);
      cache.run(packed, x8.data(), static_cast<size_t>(m), y.data(), scales.data());
    }
    benchmark::DoNotOptimize(y.data());
  }
  st.counters["GFLOP/s"] = gflops(2.0 * m * kN * kK / 1e9);
}
BENCHMARK_CAPTURE(BM_DnnlGemm, fp32, rerank::Precision::FP32)->Arg(128)->Arg(338)->Arg(2048)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_DnnlGemm, bf16, rerank::Precision::BF16)->Arg(338)->Arg(2048)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_DnnlGemm, int8, rerank::Precision::INT8)->Arg(338)->Arg(2048)->Unit(benchmark::kMicrosecond);

void BM_Softmax(benchmark::State& st, bool simd_path) {
  const size_t n = 338;
  auto base = random_vec(n);
  std::vector<float> x(n);
  for (auto _ : st) {
    x = base;
    if (simd_path) simd::softmax_row(x.data(), n, 0.17f);
    else softmax_row(x.data(), n, 0.17f);
    benchmark::DoNotOptimize(x.data());
  }
  st.SetItemsProcessed(st.iterations() * static_cast<int64_t>(n));
}
BENCHMARK_CAPTURE(BM_Softmax, scalar, false);
BENCHMARK_CAPTURE(BM_Softmax, simd, true);

void BM_Gelu(benchmark::State& st, bool simd_path) {
  auto base = random_vec(kN), bias = random_vec(kN, 3);
  std::vector<float> x(kN);
  for (auto _ : st) {
    x = base;
    if (simd_path) simd::bias_act_row(x.data(), bias.data(), kN, Act::Gelu);
    else bias_act_row(x.data(), bias.data(), kN, Act::Gelu);
    benchmark::DoNotOptimize(x.data());
  }
  st.SetItemsProcessed(st.iterations() * kN);
}
BENCHMARK_CAPTURE(BM_Gelu, scalar, false);
BENCHMARK_CAPTURE(BM_Gelu, simd, true);

void BM_LayerNorm(benchmark::State& st, bool simd_path) {
  auto base = random_vec(kK), y = random_vec(kK, 2), g = random_vec(kK, 3), b = random_vec(kK, 4);
  std::vector<float> x(kK);
  for (auto _ : st) {
    x = base;
    if (simd_path) simd::residual_layernorm_row(x.data(), y.data(), nullptr, g.data(), b.data(), kK, 1e-12f);
    else residual_layernorm_row(x.data(), y.data(), nullptr, g.data(), b.data(), kK, 1e-12f);
    benchmark::DoNotOptimize(x.data());
  }
  st.SetItemsProcessed(st.iterations() * kK);
}
BENCHMARK_CAPTURE(BM_LayerNorm, scalar, false);
BENCHMARK_CAPTURE(BM_LayerNorm, simd, true);

// One sequence's attention (12 heads, d = 32): fp32 OpenBLAS per head vs bf16 oneDNN batched over heads.
void BM_Attention(benchmark::State& st, bool bf16) {
  const size_t L = static_cast<size_t>(st.range(0)), nh = 12, d = 32, lp = (L + 15) / 16 * 16;
  const int H = static_cast<int>(nh * d), n = static_cast<int>(L), dd = static_cast<int>(d);
  auto qkv = random_vec(L * 3 * nh * d);
  std::vector<float> S(lp * lp * nh), ctx(L * nh * d), O(nh * lp * d);
  std::vector<uint16_t> q16(nh * lp * d), k16(nh * lp * d), v16(nh * lp * d), p16(nh * lp * lp);
  MatmulCache cache;
  openblas_set_num_threads(1);
  for (auto _ : st) {
    if (!bf16) {
      for (size_t h = 0; h < nh; ++h) {
        const float* q = &qkv[h * d];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, dd, 1.0f, q, 3 * H, q + H, 3 * H, 0.0f, S.data(), n);
        for (size_t r = 0; r < L; ++r) simd::softmax_row(&S[r * L], L, 0.17f);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, dd, n, 1.0f, S.data(), n, q + 2 * H, 3 * H, 0.0f, &ctx[h * d], H);
      }
    } else {
      for (size_t r = 0; r < L; ++r)
        for (size_t h = 0; h < nh; ++h) {
          f32_to_bf16(&qkv[r * 3 * H + h * d], &q16[(h * lp + r) * d], d);
          f32_to_bf16(&qkv[r * 3 * H + H + h * d], &k16[(h * lp + r) * d], d);
          f32_to_bf16(&qkv[r * 3 * H + 2 * H + h * d], &v16[(h * lp + r) * d], d);
        }
      cache.attention_scores(nh, lp, d, q16.data(), k16.data(), S.data());
      for (size_t h = 0; h < nh; ++h)
        for (size_t r = 0; r < L; ++r) {
          simd::softmax_row(&S[(h * lp + r) * lp], L, 0.17f);
          f32_to_bf16(&S[(h * lp + r) * lp], &p16[(h * lp + r) * lp], L);
        }
      cache.attention_context(nh, lp, d, p16.data(), v16.data(), O.data());
    }
    benchmark::DoNotOptimize(ctx.data());
    benchmark::DoNotOptimize(O.data());
  }
  st.counters["GFLOP/s"] = gflops(4.0 * nh * L * L * d / 1e9);
}
BENCHMARK_CAPTURE(BM_Attention, fp32, false)->Arg(128)->Arg(338)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Attention, bf16, true)->Arg(128)->Arg(338)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();

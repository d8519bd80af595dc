#include "model/layers.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>

#include "kernels/convert.hpp"
#include "kernels/simd.hpp"
#include "rerank/error.hpp"

namespace rerank::model {

// ---------------------------------------------------------------------------------------------------- weights

const TensorInfo* WeightLoader::find(const std::string& name) const {
  for (const std::string& prefix : prefixes_) {
    std::string full = prefix + name;
    if (store_.has(full)) return &store_.get(full);
    for (auto [a, b] : {std::pair{".weight", ".gamma"}, std::pair{".bias", ".beta"}}) {
      std::string sa = a;
      if (full.size() > sa.size() && full.compare(full.size() - sa.size(), sa.size(), sa) == 0) {
        std::string alt = full.substr(0, full.size() - sa.size()) + b;
        if (store_.has(alt)) return &store_.get(alt);
      }
    }
  }
  return nullptr;
}

const TensorInfo& WeightLoader::require(const std::string& name, const std::vector<int64_t>& shape) const {
  const TensorInfo* t = find(name);
  if (!t) {
    std::string alts;
    for (const std::string& p : prefixes_) {
      if (!p.empty()) alts += (alts.empty() ? "" : ", ") + ("'" + p + name + "'");
    }
    throw ModelError("model weights: tensor '" + name + "'" + (alts.empty() ? "" : " (or " + alts + ")") + " not found");
  }
  if (t->shape != shape) {
    throw ModelError(t->file + ": tensor '" + t->name + "' has shape " + shape_str(t->shape) + ", but config.json implies " +
                     shape_str(shape));
  }
  return *t;
}

const float* WeightLoader::f32(const std::string& name, const std::vector<int64_t>& shape) {
  const TensorInfo& t = require(name, shape);
  if (t.dtype == DType::F32 && reinterpret_cast<uintptr_t>(t.data) % alignof(float) == 0) {
    return reinterpret_cast<const float*>(t.data);
  }
  owned_.push_back(TensorStore::to_f32(t));
  return owned_.back().data();
}

const float* WeightLoader::zeros(size_t n) {
  owned_.emplace_back(n, 0.0f);
  return owned_.back().data();
}

Linear WeightLoader::linear(const std::string& prefix, int out, int in, bool bias) {
  Linear l;
  l.w = f32(prefix + ".weight", {out, in});
  l.b = bias ? f32(prefix + ".bias", {out}) : nullptr;
  l.out = out;
  l.in = in;
  return l;
}

Norm WeightLoader::norm(const std::string& prefix, int n, bool bias) {
  return Norm{f32(prefix + ".weight", {n}), bias ? f32(prefix + ".bias", {n}) : zeros(static_cast<size_t>(n))};
}

Linear WeightLoader::fused_qkv(const std::string& prefix, int h) {
  std::vector<float> wt(static_cast<size_t>(3) * h * h), bias(static_cast<size_t>(3) * h);
  const char* names[] = {"query", "key", "value"};
  for (int i = 0; i < 3; ++i) {
    auto wi = TensorStore::to_f32(require(prefix + "." + names[i] + ".weight", {h, h}));
    auto bi = TensorStore::to_f32(require(prefix + "." + names[i] + ".bias", {h}));
    std::copy(wi.begin(), wi.end(), wt.begin() + static_cast<size_t>(i) * h * h);
    std::copy(bi.begin(), bi.end(), bias.begin() + static_cast<size_t>(i) * h);
  }
  owned_.push_back(std::move(wt));
  const float* wp = owned_.back().data();
  owned_.push_back(std::move(bias));
  return Linear{wp, owned_.back().data(), 3 * h, h};
}

void WeightLoader::check_no_layer(const std::string& probe, int num_layers) const {
  if (find(probe)) {
    throw ModelError("model weights: the checkpoint has more layers than config.json's num_hidden_layers = " +
                     std::to_string(num_layers) + " (found '" + probe + "')");
  }
}

// ---------------------------------------------------------------------------------------------------- rows

namespace {

// INT8: act(x[m, k] W^T + bias) for one chunk of rows on one worker: each row quantised (s8 symmetric, or u8
// asymmetric when l.u8) after the smoothing, the int8 product into `acc` ([m, n] int32), then per row in one pass
// (simd::int8_epilogue_row) dequantised (zero-point corrected for u8), the outlier channels' exact f32 contribution,
// bias and act, into f32 `y` (which may be acc's memory) or, when y16 is set, bf16 `y16`. The input is f32 `x` or,
// when x is null, bf16 `x16`. act must be simd::vectorised_act.
void int8_chunk(const float* x, const uint16_t* x16, size_t m, const Linear& l, const kernels::PackedLinear& packed,
                const float* bias, kernels::Act act, int32_t* acc, float* y, uint16_t* y16, Scratch& s, size_t worker) {
  const size_t k = static_cast<size_t>(l.in), n = static_cast<size_t>(l.out);
  if (!x) {
    auto& wide = s.rows32[worker];
    wide.resize(std::max(wide.size(), m * k));
    for (size_t i = 0; i < m * k; ++i) wide[i] = kernels::bf16_to_f32(x16[i]);
    x = wide.data();
  }
  auto& buf = s.lowp[worker];
  auto& scale = s.row_scale[worker];
  auto& zero = s.row_zero[worker];
  buf.resize(m * k);
  scale.resize(m);
  zero.assign(m, 0);
  for (size_t r = 0; r < m; ++r) {
    scale[r] = l.u8 ? kernels::simd::quantize_row_u8(x + r * k, packed.inv_smooth(), k, buf.data() + r * k, &zero[r])
                    : kernels::simd::quantize_row_s8(x + r * k, packed.inv_smooth(), k, reinterpret_cast<int8_t*>(buf.data()) + r * k);
  }
  if (l.u8) {
    s.matmuls[worker].run_u8(packed, buf.data(), m, acc);
  } else {
    s.matmuls[worker].run_s8(packed, reinterpret_cast<const int8_t*>(buf.data()), m, acc);
  }
  kernels::simd::Int8Epilogue e;
  e.colsum = l.u8 ? packed.col_sum() : nullptr;
  e.col_scale = packed.col_scale();
  e.bias = bias;
  e.outliers = packed.outliers().data();
  e.n_outliers = packed.outliers().size();
  e.outlier_w = packed.outlier_w();
  e.act = act;
  for (size_t r = 0; r < m; ++r) {
    e.row_scale = scale[r];
    e.zero = zero[r];
    e.x = x + r * k;
    kernels::simd::int8_epilogue_row(acc + r * n, e, n, y ? y + r * n : nullptr, y16 ? y16 + r * n : nullptr);
  }
}

// y[m, out] = x[m, in] W^T for one chunk of rows on one worker, in the precision of `packed` (fp32 when null).
void gemm_chunk(const float* x, size_t m, const Linear& l, const kernels::PackedLinear* packed, float* y, Scratch& s,
                size_t worker) {
  const size_t k = static_cast<size_t>(l.in);
  if (!packed) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m), l.out, l.in, 1.0f, x, l.in, l.w, l.in, 0.0f, y,
                l.out);
  } else if (packed->precision() == Precision::FP32) {
    s.matmuls[worker].run(*packed, x, m, y);
  } else if (packed->precision() == Precision::BF16) {
    auto& buf = s.lowp[worker];
    buf.resize(m * k * 2);
    auto* x16 = reinterpret_cast<uint16_t*>(buf.data());
    kernels::f32_to_bf16(x, x16, m * k);
    s.matmuls[worker].run(*packed, x16, m, y);
  } else {
    int8_chunk(x, nullptr, m, l, *packed, nullptr, kernels::Act::None, reinterpret_cast<int32_t*>(y), y, nullptr, s, worker);
  }
}

}  // namespace

std::function<void(size_t)> residual_add_rows(float* x, const float* y, const float* bias, size_t H) {
  return [x, y, bias, H](size_t r) {
    float* row = x + r * H;
    for (size_t k = 0; k < H; ++k) row[k] += y[r * H + k] + (bias ? bias[k] : 0.0f);
  };
}

namespace {

// Calibration: the per-channel max |x| of `rows` input rows of width k into (*s.calib)[slot].
void record_input(const float* x, size_t rows, size_t k, int slot, Scratch& s) {
  if (!s.calib || slot < 0) return;
  static std::mutex mu;  // ffn_rows records from its workers
  std::lock_guard<std::mutex> lock(mu);
  auto& a = (*s.calib)[static_cast<size_t>(slot)];
  a.resize(k, 0.0f);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t j = 0; j < k; ++j) a[j] = std::max(a[j], std::fabs(x[r * k + j]));
  }
}

}  // namespace

void linear_rows(const float* x, size_t rows, const Linear& l, const kernels::PackedLinear* packed, float* y, Scratch& s,
                 ThreadPool& pool, const std::function<void(size_t)>& epilogue) {
  const size_t k = static_cast<size_t>(l.in), n = static_cast<size_t>(l.out);
  record_input(x, rows, k, l.slot, s);  // only while calibrating (s.calib set, an fp32 encode)
  pool.parallel_for(
      rows,
      [&](size_t b, size_t e, size_t worker) {
        for (size_t c = b; c < e; c += kRowChunk) {
          const size_t m = std::min(kRowChunk, e - c);
          gemm_chunk(x + c * k, m, l, packed, y + c * n, s, worker);
          for (size_t r = c; r < c + m; ++r) epilogue(r);
        }
      },
      16);
}

void linear_rows_bf16(const float* x, const uint16_t* x16, size_t rows, const Linear& l, const kernels::PackedLinear& packed,
                      kernels::Act act, float* y, uint16_t* y16, Scratch& s, ThreadPool& pool,
                      const std::function<void(size_t)>& epilogue) {
  const size_t k = static_cast<size_t>(l.in), n = static_cast<size_t>(l.out);
  pool.parallel_for(
      rows,
      [&](size_t b, size_t e, size_t worker) {
        for (size_t c = b; c < e; c += kRowChunk) {
          const size_t m = std::min(kRowChunk, e - c);
          const uint16_t* in = x16 ? x16 + c * k : nullptr;
          if (x) {
            auto& buf = s.lowp[worker];
            buf.resize(m * k * 2);
            auto* conv = reinterpret_cast<uint16_t*>(buf.data());
            kernels::f32_to_bf16(x + c * k, conv, m * k);
            in = conv;
          }
          void* out = y16 ? static_cast<void*>(y16 + c * n) : static_cast<void*>(y + c * n);
          s.matmuls[worker].run_fused(packed, in, m, out, y16 != nullptr, l.b, act);
          if (epilogue) {
            for (size_t r = c; r < c + m; ++r) epilogue(r);
          }
        }
      },
      16);
}

void linear_rows_int8(const float* x, const uint16_t* x16, size_t rows, const Linear& l, const kernels::PackedLinear& packed,
                      float* y, uint16_t* y16, Scratch& s, ThreadPool& pool, const std::function<void(size_t)>& epilogue) {
  const size_t k = static_cast<size_t>(l.in), n = static_cast<size_t>(l.out);
  pool.parallel_for(
      rows,
      [&](size_t b, size_t e, size_t worker) {
        auto& acc = s.chunk[worker];
        for (size_t c = b; c < e; c += kRowChunk) {
          const size_t m = std::min(kRowChunk, e - c);
          float* out = y ? y + c * n : nullptr;
          int32_t* a = reinterpret_cast<int32_t*>(out);  // f32 output: dequantised in place
          if (!out) {
            acc.resize(std::max(acc.size(), m * n));
            a = reinterpret_cast<int32_t*>(acc.data());
          }
          int8_chunk(x ? x + c * k : nullptr, x16 ? x16 + c * k : nullptr, m, l, packed, l.b, kernels::Act::None, a, out,
                     y16 ? y16 + c * n : nullptr, s, worker);
          if (epilogue) {
            for (size_t r = c; r < c + m; ++r) epilogue(r);
          }
        }
      },
      16);
}

void ffn_rows(const float* x, size_t rows, const Linear& l1, const kernels::PackedLinear* p1, kernels::Act act,
              const Linear& l2, const kernels::PackedLinear* p2, float* y, Scratch& s, ThreadPool& pool,
              const std::function<void(size_t)>& epilogue) {
  const size_t k = static_cast<size_t>(l1.in), I = static_cast<size_t>(l1.out), n = static_cast<size_t>(l2.out);
  const bool bf16 = p1 && p2 && p1->precision() == Precision::BF16 && p2->precision() == Precision::BF16;
  record_input(x, rows, k, l1.slot, s);
  pool.parallel_for(
      rows,
      [&](size_t b, size_t e, size_t worker) {
        auto& mid = s.chunk[worker];
        mid.resize(kFfnRowChunk * I);
        for (size_t c = b; c < e; c += kFfnRowChunk) {
          const size_t m = std::min(kFfnRowChunk, e - c);
          if (bf16) {
            auto& buf = s.lowp[worker];
            buf.resize(m * k * 2);
            auto* x16 = reinterpret_cast<uint16_t*>(buf.data());
            auto* mid16 = reinterpret_cast<uint16_t*>(mid.data());
            kernels::f32_to_bf16(x + c * k, x16, m * k);
            s.matmuls[worker].run_fused(*p1, x16, m, mid16, true, l1.b, act);
            s.matmuls[worker].run(*p2, mid16, m, y + c * n);
          } else if (p1 && p1->precision() == Precision::INT8 && p2 && p2->precision() == Precision::BF16 &&
                     kernels::simd::vectorised_act(act)) {
            // int8 first product: dequantisation, outliers, bias, act and the bf16 rounding for the second one in a
            // single pass per row (simd::int8_epilogue_row)
            auto& mid16 = s.chunk16[worker];
            mid16.resize(std::max(mid16.size(), m * I));
            int8_chunk(x + c * k, nullptr, m, l1, *p1, l1.b, act, reinterpret_cast<int32_t*>(mid.data()), nullptr, mid16.data(), s,
                       worker);
            s.matmuls[worker].run(*p2, mid16.data(), m, y + c * n);
          } else if (p1 && p1->precision() == Precision::BF16) {  // int8 mode with a bf16 first product
            auto& buf = s.lowp[worker];
            buf.resize(m * k * 2);
            auto* x16 = reinterpret_cast<uint16_t*>(buf.data());
            kernels::f32_to_bf16(x + c * k, x16, m * k);
            s.matmuls[worker].run_fused(*p1, x16, m, mid.data(), false, l1.b, act);
            gemm_chunk(mid.data(), m, l2, p2, y + c * n, s, worker);
          } else {
            gemm_chunk(x + c * k, m, l1, p1, mid.data(), s, worker);
            for (size_t r = 0; r < m; ++r) kernels::simd::bias_act_row(&mid[r * I], l1.b, I, act);
            record_input(mid.data(), m, I, l2.slot, s);
            gemm_chunk(mid.data(), m, l2, p2, y + c * n, s, worker);
          }
          for (size_t r = c; r < c + m; ++r) epilogue(r);
        }
      },
      16);
}

void layernorm_row(const float* src, float* dst, const Norm& n, size_t H, float eps) {
  if (dst != src) std::copy(src, src + H, dst);
  kernels::simd::residual_layernorm_row(dst, nullptr, nullptr, n.gamma, n.beta, H, eps);
}

size_t prepare_batch(const std::vector<Sequence>& seqs, int vocab_size, int type_vocab, size_t max_tokens, Scratch& s,
                     ThreadPool& pool) {
  s.offsets.assign(seqs.size() + 1, 0);
  for (size_t i = 0; i < seqs.size(); ++i) {
    const Sequence& q = seqs[i];
    if (q.len == 0) throw InputError("empty token sequence");
    if (q.len > max_tokens) {
      throw InputError("sequence of " + std::to_string(q.len) + " tokens exceeds the model's " + std::to_string(max_tokens) +
                       " positions");
    }
    for (size_t t = 0; t < q.len; ++t) {
      if (q.ids[t] < 0 || q.ids[t] >= vocab_size) {
        throw InputError("token id " + std::to_string(q.ids[t]) + " is outside the model's vocabulary of " +
                         std::to_string(vocab_size) + " (tokenizer and model do not match?)");
      }
      if (type_vocab > 0 && (q.type_ids[t] < 0 || q.type_ids[t] >= type_vocab)) {
        throw InputError("token type id " + std::to_string(q.type_ids[t]) + " is outside type_vocab_size " +
                         std::to_string(type_vocab));
      }
    }
    s.offsets[i + 1] = s.offsets[i] + q.len;
  }
  s.scores.resize(pool.size());
  s.lowp.resize(pool.size());
  s.attn16.resize(pool.size());
  s.attn32.resize(pool.size());
  s.inv_sum.resize(pool.size());
  s.row_scale.resize(pool.size());
  s.row_zero.resize(pool.size());
  s.rows32.resize(pool.size());
  s.chunk.resize(pool.size());
  s.chunk16.resize(pool.size());
  while (s.matmuls.size() < pool.size()) s.matmuls.emplace_back();
  return s.offsets.back();
}

// ---------------------------------------------------------------------------------------------------- attention
namespace {

constexpr size_t kQueryBlock = 256;                  // query rows per block of scores in the fp32 path
constexpr size_t kBf16Budget = size_t{96} << 20;     // bytes of one head's bf16 attention buffers, at most
constexpr size_t kBf16CacheBudget = size_t{1} << 20;  // heads are grouped while their buffers stay within L2

// dst[0, n) = src[0, n) for one head's slice of a bf16 row (n = head size, 32-128 values), in fixed 64-byte blocks
// the compiler inlines. std::copy called memmove once per (row, head, Q/K/V): ~5% of an int8 forward pass on
// minilm-l6-real (perf); inlined, the int8 pass ran 3-7% faster (medians of two sets of 5 interleaved runs). The
// f32 paths keep std::copy (their 128-256-byte copies were no faster inlined).
inline void copy_head(const uint16_t* src, size_t n, uint16_t* dst) {
  constexpr size_t kBlock = 32;
  size_t i = 0;
  for (; i + kBlock <= n; i += kBlock) std::memcpy(dst + i, src + i, 64);
  for (; i < n; ++i) dst[i] = src[i];
}

// Exact path: per (sequence, head, block of query rows) two OpenBLAS sgemm calls around a softmax. Only the keys a
// block can see are multiplied (all of them without a window), so a block's scores are [rows, visible keys].
void attention_fp32(const std::vector<Sequence>& seqs, const AttentionShape& a, Scratch& s, ThreadPool& pool) {
  const size_t H = a.hidden, nh = a.heads, dh = H / nh, ld = a.qkv_stride;
  // query rows per block: on sliding-window layers about the window (a block sees its rows +- the window, so few
  // scores outside the band are computed), else kQueryBlock
  const size_t qb = a.window ? std::clamp<size_t>(a.window, 32, kQueryBlock) : kQueryBlock;
  std::vector<size_t> first(seqs.size() + 1, 0);  // job numbering: (sequence, head, block)
  for (size_t i = 0; i < seqs.size(); ++i) first[i + 1] = first[i] + nh * ((seqs[i].len + qb - 1) / qb);
  pool.parallel_for(first.back(), [&](size_t b, size_t e, size_t worker) {
    size_t i = static_cast<size_t>(std::upper_bound(first.begin(), first.end(), b) - first.begin()) - 1;
    for (size_t job = b; job < e; ++job) {
      while (job >= first[i + 1]) ++i;
      const size_t len = seqs[i].len, off = s.offsets[i], nb = (len + qb - 1) / qb;
      const size_t head = (job - first[i]) / nb, blk = (job - first[i]) % nb;
      const size_t r0 = blk * qb, r1 = std::min(len, r0 + qb);
      const size_t k0 = a.window ? (r0 > a.window ? r0 - a.window : 0) : 0;
      const size_t k1 = a.window ? std::min(len, r1 + a.window) : len;
      const size_t nk = k1 - k0, nq = r1 - r0;
      auto& buf = s.scores[worker];
      if (buf.size() < nq * nk) buf.resize(nq * nk);
      float* S = buf.data();
      const float* q = &s.qkv[(off + r0) * ld + head * dh];
      const float* k = &s.qkv[(off + k0) * ld + H + head * dh];
      const float* v = &s.qkv[(off + k0) * ld + 2 * H + head * dh];
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(nq), static_cast<int>(nk), static_cast<int>(dh),
                  1.0f, q, static_cast<int>(ld), k, static_cast<int>(ld), 0.0f, S, static_cast<int>(nk));
      for (size_t r = r0; r < r1; ++r) {
        float* row = S + (r - r0) * nk;
        if (!a.window) {
          kernels::simd::softmax_row(row, nk, a.scale);
          continue;
        }
        const size_t lo = std::max(k0, r > a.window ? r - a.window : 0), hi = std::min(k1, r + a.window + 1);
        std::fill(row, row + (lo - k0), 0.0f);
        std::fill(row + (hi - k0), row + nk, 0.0f);
        kernels::simd::softmax_row(row + (lo - k0), hi - lo, a.scale);
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(nq), static_cast<int>(dh), static_cast<int>(nk),
                  1.0f, S, static_cast<int>(nk), v, static_cast<int>(ld), 0.0f, &s.ctx[(off + r0) * H + head * dh],
                  static_cast<int>(H));
    }
  });
}

// The keys [lo, hi) query row r of a sequence of len tokens sees: all of them without a window.
std::pair<size_t, size_t> visible_keys(const AttentionShape& a, size_t r, size_t len) {
  if (!a.window) return {0, len};
  return {r > a.window ? r - a.window : 0, std::min(len, r + a.window + 1)};
}

// Longest sequence whose sliding-window attention the bf16 path computes in full (masked).
constexpr size_t bf16_max_masked_length(size_t window) { return 8 * window; }

// Heads of one sequence processed together by the batched path (bf16, or fp32 when `fp32`): as many as keep their
// buffers in L2 (at least one), 0 when not even one head fits kBf16Budget. Bigger groups stream the scores through
// memory twice (the softmax's max and exp passes).
size_t heads_per_batch(size_t len, size_t nh, size_t dh, bool fp32 = false) {
  const size_t lp = (len + 15) / 16 * 16;
  // bf16: f32 scores + bf16 probabilities, bf16 Q K V + f32 context; fp32: f32 scores (probabilities in place), f32
  // Q K V and context
  const size_t per_head = fp32 ? lp * lp * 4 + lp * dh * 16 : lp * lp * 6 + lp * dh * 10;
  if (per_head > kBf16Budget) return 0;
  return std::clamp<size_t>(kBf16CacheBudget / per_head, 1, nh);
}

// Fast path: per sequence and batch of heads [h0, h0 + g), two batched bf16 oneDNN matmuls (AMX where present).
// Lengths are rounded up to a multiple of 16 so few primitives are made; padded keys are masked out of the softmax,
// padded rows dropped.
void attention_bf16_heads(const Sequence& q, size_t off, const AttentionShape& a, size_t h0, size_t g, Scratch& s,
                          size_t worker) {
  const size_t H = a.hidden, dh = H / a.heads, ld = a.qkv_stride;
  auto& b16 = s.attn16[worker];
  auto& b32 = s.attn32[worker];
  const size_t len = q.len, lp = (len + 15) / 16 * 16;
  const size_t qkv_n = g * lp * dh, p_n = g * lp * lp;
  b16.resize(3 * qkv_n + p_n);
  b32.resize(p_n + qkv_n);
  uint16_t *q16 = b16.data(), *k16 = q16 + qkv_n, *v16 = k16 + qkv_n, *p16 = v16 + qkv_n;
  float *S = b32.data(), *O = S + p_n;
  for (size_t h = 0; h < g; ++h) {  // padded rows: zero (finite) Q, K, V and probabilities; only they need clearing
    for (uint16_t* base : {q16, k16, v16}) std::fill(base + (h * lp + len) * dh, base + (h + 1) * lp * dh, uint16_t{0});
    std::fill(p16 + (h * lp + len) * lp, p16 + (h + 1) * lp * lp, uint16_t{0});
  }
  for (size_t r = 0; r < len; ++r) {
    for (size_t h = 0; h < g; ++h) {
      const size_t col = (h0 + h) * dh;
      uint16_t* dst[3] = {q16 + (h * lp + r) * dh, k16 + (h * lp + r) * dh, v16 + (h * lp + r) * dh};
      for (size_t part = 0; part < 3; ++part) {
        if (a.bf16_io) {
          const uint16_t* src = &s.qkv16[(off + r) * ld + part * H + col];
          copy_head(src, dh, dst[part]);
        } else {
          kernels::f32_to_bf16(&s.qkv[(off + r) * ld + part * H + col], dst[part], dh);
        }
      }
    }
  }
  s.matmuls[worker].attention_scores(g, lp, dh, q16, k16, S);
  // the softmax's exps in bf16 (unnormalised); each context row is divided by its sum instead (dh values, not lp)
  auto& inv = s.inv_sum[worker];
  inv.resize(g * len);
  for (size_t h = 0; h < g; ++h) {
    for (size_t r = 0; r < len; ++r) {
      uint16_t* prow = p16 + (h * lp + r) * lp;
      // keys [lo, hi) are visible (all of them without a window); the others, padding included, get probability 0
      const auto [lo, hi] = visible_keys(a, r, len);
      std::fill(prow, prow + lo, uint16_t{0});
      inv[h * len + r] = 1.0f / kernels::simd::exp_bf16_row(S + (h * lp + r) * lp + lo, hi - lo, a.scale, prow + lo);
      std::fill(prow + hi, prow + lp, uint16_t{0});
    }
  }
  s.matmuls[worker].attention_context(g, lp, dh, p16, v16, O);
  for (size_t r = 0; r < len; ++r) {
    for (size_t h = 0; h < g; ++h) {
      float* o = O + (h * lp + r) * dh;
      for (size_t d = 0; d < dh; ++d) o[d] *= inv[h * len + r];
      const size_t at = (off + r) * H + (h0 + h) * dh;
      if (a.bf16_io) {
        kernels::f32_to_bf16(o, &s.ctx16[at], dh);
      } else {
        std::copy(o, o + dh, &s.ctx[at]);
      }
    }
  }
}

// The fp32 batched path: as attention_bf16_heads with f32 Q, K, V gathered from s.qkv (padded rows zero), f32
// scores turned into probabilities in place (padded and invisible keys 0), two batched oneDNN fp32 matmuls. The same
// arithmetic as attention_fp32 up to the order of the sums; one or two calls per sequence instead of two OpenBLAS
// calls per (head, block of rows), whose packing dominated products with inner dimension dh (32-64).
void attention_fp32_heads(const Sequence& q, size_t off, const AttentionShape& a, size_t h0, size_t g, Scratch& s,
                          size_t worker) {
  const size_t H = a.hidden, dh = H / a.heads, ld = a.qkv_stride;
  auto& b32 = s.attn32[worker];
  const size_t len = q.len, lp = (len + 15) / 16 * 16;
  const size_t qkv_n = g * lp * dh, p_n = g * lp * lp;
  b32.resize(4 * qkv_n + p_n);
  float *q32 = b32.data(), *k32 = q32 + qkv_n, *v32 = k32 + qkv_n, *S = v32 + qkv_n, *O = S + p_n;
  for (size_t h = 0; h < g; ++h) {
    for (float* base : {q32, k32, v32}) std::fill(base + (h * lp + len) * dh, base + (h + 1) * lp * dh, 0.0f);
  }
  for (size_t r = 0; r < len; ++r) {
    for (size_t h = 0; h < g; ++h) {
      const float* src = &s.qkv[(off + r) * ld + (h0 + h) * dh];
      std::copy(src, src + dh, q32 + (h * lp + r) * dh);
      std::copy(src + H, src + H + dh, k32 + (h * lp + r) * dh);
      std::copy(src + 2 * H, src + 2 * H + dh, v32 + (h * lp + r) * dh);
    }
  }
  s.matmuls[worker].attention_scores(g, lp, dh, q32, k32, S);
  // unnormalised exps in place; each context row is divided by its sum instead (dh values, not lp)
  auto& inv = s.inv_sum[worker];
  inv.resize(g * len);
  for (size_t h = 0; h < g; ++h) {
    for (size_t r = 0; r < lp; ++r) {
      float* row = S + (h * lp + r) * lp;
      const auto [lo, hi] = r < len ? visible_keys(a, r, len) : std::pair<size_t, size_t>{0, 0};
      if (hi > lo) inv[h * len + r] = 1.0f / kernels::simd::exp_row(row + lo, hi - lo, a.scale);
      std::fill(row, row + std::min(lo, hi), 0.0f);
      std::fill(row + std::max(lo, hi), row + lp, 0.0f);
    }
  }
  s.matmuls[worker].attention_context(g, lp, dh, S, v32, O);
  for (size_t r = 0; r < len; ++r) {
    for (size_t h = 0; h < g; ++h) {
      const float* o = O + (h * lp + r) * dh;
      float* c = &s.ctx[(off + r) * H + (h0 + h) * dh];
      for (size_t d = 0; d < dh; ++d) c[d] = o[d] * inv[h * len + r];
    }
  }
}

// Whether attention() takes its batched bf16 path (batched fp32 when `fp32`) for the batch: every sequence has a
// group of heads within the budget and none is too long for a masked window. A sliding window computes all scores and
// masks the invisible ones: cheaper than the banded path while the band is a good part of the row (on longer
// sequences only the band is computed, OpenBLAS fp32), as are sequences too long for even one head's buffers.
bool batched_attention_fits(const std::vector<Sequence>& seqs, const AttentionShape& a, bool fp32 = false) {
  for (const Sequence& q : seqs) {
    if (heads_per_batch(q.len, a.heads, a.hidden / a.heads, fp32) == 0) return false;
    if (a.window && q.len > bf16_max_masked_length(a.window)) return false;
  }
  return true;
}

// The first token's attention for one (sequence, head): the scores of its query against the visible keys, their
// softmax, and the weighted sum of the values, into o[dh]. `bf16`: attention() takes its bf16 path for the batch.
void first_token_head(const Sequence& seq, size_t off, size_t head, const AttentionShape& a, bool bf16, const float* q,
                      const uint16_t* q16, size_t k_col, Scratch& s, size_t worker, float* o) {
  const size_t dh = a.hidden / a.heads, ld = a.qkv_stride, H = a.hidden;
  const size_t nk = a.window ? std::min(seq.len, a.window + 1) : seq.len;  // keys visible from position 0
  auto& b32 = s.attn32[worker];
  b32.resize(nk + dh);
  float *S = b32.data(), *qf = S + nk;
  const size_t k_at = off * ld + k_col + head * dh;
  if (!a.bf16_io && !bf16) {  // f32 Q, K, V: OpenBLAS products as attention_fp32 (one query row)
    const float* k = &s.qkv[k_at];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, 1, static_cast<int>(nk), static_cast<int>(dh), 1.0f, q + head * dh,
                static_cast<int>(dh), k, static_cast<int>(ld), 0.0f, S, static_cast<int>(nk));
    kernels::simd::softmax_row(S, nk, a.scale);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 1, static_cast<int>(dh), static_cast<int>(nk), 1.0f, S,
                static_cast<int>(nk), k + H, static_cast<int>(ld), 0.0f, o, static_cast<int>(dh));
    return;
  }
  // bf16 values (bf16 in, or f32 rounded to bf16 as attention_bf16_heads does; f32 as they are when the batch takes
  // the fp32 path): products of bf16 values are exact in f32, summed in f32 (as oneDNN's bf16 matmuls)
  auto value = [&](size_t at) {
    if (a.bf16_io) return kernels::bf16_to_f32(s.qkv16[at]);
    uint16_t h;
    kernels::f32_to_bf16_scalar(&s.qkv[at], &h, 1);
    return kernels::bf16_to_f32(h);
  };
  for (size_t d = 0; d < dh; ++d) {
    uint16_t h;
    if (!a.bf16_io) kernels::f32_to_bf16_scalar(q + head * dh + d, &h, 1);
    qf[d] = kernels::bf16_to_f32(a.bf16_io ? q16[head * dh + d] : h);
  }
  for (size_t t = 0; t < nk; ++t) {
    float acc = 0.0f;
    for (size_t d = 0; d < dh; ++d) acc += qf[d] * value(k_at + t * ld + d);
    S[t] = acc;
  }
  std::fill(o, o + dh, 0.0f);
  float inv = 1.0f;
  if (bf16) {  // as attention_bf16_heads: exps rounded to bf16, the context divided by their sum
    auto& p16 = s.attn16[worker];
    p16.resize(nk);
    inv = 1.0f / kernels::simd::exp_bf16_row(S, nk, a.scale, p16.data());
    for (size_t t = 0; t < nk; ++t) S[t] = kernels::bf16_to_f32(p16[t]);
  } else {  // as attention() on bf16 values in a batch too long for the bf16 buffers: fp32 softmax
    kernels::simd::softmax_row(S, nk, a.scale);
  }
  for (size_t t = 0; t < nk; ++t) {
    const float p = S[t];
    for (size_t d = 0; d < dh; ++d) o[d] += p * value(k_at + H + t * ld + d);
  }
  for (size_t d = 0; d < dh; ++d) o[d] *= inv;
}

}  // namespace

void attention_first_token(const std::vector<Sequence>& seqs, const AttentionShape& a, bool bf16, const float* q,
                           const uint16_t* q16, size_t k_col, Scratch& s, ThreadPool& pool) {
  const size_t H = a.hidden, nh = a.heads, dh = H / nh;
  const bool bf16_path = bf16 && batched_attention_fits(seqs, a);
  pool.parallel_for(seqs.size() * nh, [&](size_t b, size_t e, size_t worker) {
    std::vector<float> o(dh);
    for (size_t job = b; job < e; ++job) {
      const size_t i = job / nh, head = job % nh;
      first_token_head(seqs[i], s.offsets[i], head, a, bf16_path, q ? q + i * H : nullptr, q16 ? q16 + i * H : nullptr, k_col,
                       s, worker, o.data());
      if (a.bf16_io) {
        kernels::f32_to_bf16(o.data(), &s.ctx16[i * H + head * dh], dh);
      } else {
        std::copy(o.begin(), o.end(), &s.ctx[i * H + head * dh]);
      }
    }
  });
}

void attention(const std::vector<Sequence>& seqs, const AttentionShape& a, bool bf16, Scratch& s, ThreadPool& pool) {
  const size_t dh = a.hidden / a.heads;
  // bf16 jobs: (sequence, batch of heads that fits the budget)
  struct Job {
    size_t seq, h0, g;
  };
  std::vector<Job> jobs;
  const bool all_bf16 = bf16 && batched_attention_fits(seqs, a);
  // f32 values (no bf16 path): batched fp32 products where every sequence fits, else OpenBLAS per block of rows
  const bool all_fp32 = !all_bf16 && !a.bf16_io && batched_attention_fits(seqs, a, true);
  for (size_t i = 0; (all_bf16 || all_fp32) && i < seqs.size(); ++i) {
    const size_t g = heads_per_batch(seqs[i].len, a.heads, dh, all_fp32);
    for (size_t h0 = 0; h0 < a.heads; h0 += g) jobs.push_back({i, h0, std::min(g, a.heads - h0)});
  }
  if (all_fp32) {
    pool.parallel_for(jobs.size(), [&](size_t b, size_t e, size_t worker) {
      for (size_t j = b; j < e; ++j) attention_fp32_heads(seqs[jobs[j].seq], s.offsets[jobs[j].seq], a, jobs[j].h0, jobs[j].g, s, worker);
    });
    return;
  }
  if (!all_bf16) {
    if (!a.bf16_io) {
      attention_fp32(seqs, a, s, pool);
      return;
    }
    // bf16 in and out, but a sequence too long for the bf16 buffers: through the fp32 path
    const size_t T = s.offsets.back(), H = a.hidden;
    s.qkv.resize(T * a.qkv_stride);
    s.ctx.resize(T * H);
    pool.parallel_for(T, [&](size_t b, size_t e, size_t) {
      for (size_t r = b; r < e; ++r) {
        for (size_t j = 0; j < a.qkv_stride; ++j) s.qkv[r * a.qkv_stride + j] = kernels::bf16_to_f32(s.qkv16[r * a.qkv_stride + j]);
      }
    });
    attention_fp32(seqs, a, s, pool);
    pool.parallel_for(T, [&](size_t b, size_t e, size_t) { kernels::f32_to_bf16(&s.ctx[b * H], &s.ctx16[b * H], (e - b) * H); });
    return;
  }
  pool.parallel_for(jobs.size(), [&](size_t b, size_t e, size_t worker) {
    for (size_t j = b; j < e; ++j) attention_bf16_heads(seqs[jobs[j].seq], s.offsets[jobs[j].seq], a, jobs[j].h0, jobs[j].g, s, worker);
  });
}

}  // namespace rerank::model

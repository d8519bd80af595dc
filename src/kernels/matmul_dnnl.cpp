#include "kernels/matmul_dnnl.hpp"

#include <omp.h>

#include <array>
#include <cmath>
#include <cstring>
#include <dnnl.hpp>
#include <mutex>
#include <tuple>
#include <unordered_map>

#include "kernels/convert.hpp"
#include "kernels/simd.hpp"

namespace rerank::kernels {

namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

dnnl::engine& cpu_engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

dt src_type(Precision p) { return p == Precision::INT8 ? dt::s8 : p == Precision::FP32 ? dt::f32 : dt::bf16; }
dt wei_type(Precision p) { return src_type(p); }

dnnl::matmul::primitive_desc make_pd(int64_t m, int n, int k, Precision p, const memory::desc& wdesc, bool u8 = false) {
  memory::desc a({m, k}, u8 ? dt::u8 : src_type(p), tag::ab);
  memory::desc c({m, n}, p == Precision::INT8 ? dt::s32 : dt::f32, tag::ab);
  return dnnl::matmul::primitive_desc(dnnl::matmul::desc(a, wdesc, c), cpu_engine());
}

}  // namespace

struct PackedLinear::Impl {
  memory weights;             // oneDNN's preferred blocked layout
  std::vector<float> wscale;  // INT8: per-output-channel weight scales
  std::vector<float> inv_smooth;  // INT8: 1 / smoothing factor per input channel, 0 for outliers (empty: none)
  std::vector<int32_t> colsum;    // INT8: sum of the int8 weights per output channel
  std::vector<int> outliers;      // INT8: input channels kept out of the int8 product
  std::vector<float> outlier_w;   // INT8: [outliers, n] their f32 weights
};

PackedLinear::PackedLinear(const float* w, int n, int k, Precision p, const float* smooth, const std::vector<int>* outliers)
    : n_(n), k_(k), precision_(p), impl_(std::make_unique<Impl>()) {
  dnnl::stream s(cpu_engine());
  // the layout oneDNN prefers (the same for every row count on the CPUs tried; checked again per primitive)
  memory::desc any({k, n}, wei_type(p), tag::any);
  auto pd = make_pd(256, n, k, p, any);
  memory::desc plain({k, n}, wei_type(p), tag::ba);  // [k, n] viewed from PyTorch's [n, k] row-major
  memory src(plain, cpu_engine());
  if (p == Precision::INT8) {
    auto* q = static_cast<int8_t*>(src.get_data_handle());
    impl_->wscale.resize(n);
    std::vector<char> out(k, 0);
    if (outliers) {
      for (int j : *outliers) {
        if (j < 0 || j >= k || out[j]) continue;
        out[j] = 1;
        impl_->outliers.push_back(j);
        for (int o = 0; o < n; ++o) impl_->outlier_w.push_back(w[static_cast<size_t>(o) * k + j]);
      }
    }
    if (smooth || !impl_->outliers.empty()) {
      impl_->inv_smooth.resize(k);
      for (int i = 0; i < k; ++i) impl_->inv_smooth[i] = out[i] ? 0.0f : smooth ? 1.0f / smooth[i] : 1.0f;
    }
    impl_->colsum.assign(n, 0);
    std::vector<float> row(k);
    for (int o = 0; o < n; ++o) {
      float mx = 0.0f;
      for (int i = 0; i < k; ++i) {
        row[i] = out[i] ? 0.0f : w[static_cast<size_t>(o) * k + i] * (smooth ? smooth[i] : 1.0f);
        mx = std::max(mx, std::fabs(row[i]));
      }
      const float scale = mx > 0 ? mx / 127.0f : 1.0f;
      impl_->wscale[o] = scale;
      for (int i = 0; i < k; ++i) {
        float v = std::nearbyint(row[i] / scale);
        q[static_cast<size_t>(o) * k + i] = static_cast<int8_t>(std::max(-127.0f, std::min(127.0f, v)));
        impl_->colsum[o] += q[static_cast<size_t>(o) * k + i];
      }
    }
  } else if (p == Precision::FP32) {
    std::memcpy(src.get_data_handle(), w, sizeof(float) * static_cast<size_t>(n) * k);
  } else {
    f32_to_bf16_scalar(w, static_cast<uint16_t*>(src.get_data_handle()), static_cast<size_t>(n) * k);
  }
  impl_->weights = memory(pd.weights_desc(), cpu_engine());
  dnnl::reorder(src, impl_->weights).execute(s, src, impl_->weights);
  s.wait();
}

PackedLinear::~PackedLinear() = default;
const float* PackedLinear::col_scale() const { return impl_->wscale.data(); }
const float* PackedLinear::inv_smooth() const { return impl_->inv_smooth.empty() ? nullptr : impl_->inv_smooth.data(); }
const int32_t* PackedLinear::col_sum() const { return impl_->colsum.data(); }
const std::vector<int>& PackedLinear::outliers() const { return impl_->outliers; }
const float* PackedLinear::outlier_w() const { return impl_->outlier_w.data(); }

void PackedLinear::add_outliers(const float* x, float* y) const {
  const size_t n = static_cast<size_t>(n_);
  for (size_t i = 0; i < impl_->outliers.size(); ++i) {
    const float xj = x[impl_->outliers[i]];
    const float* wj = impl_->outlier_w.data() + i * n;
    for (size_t o = 0; o < n; ++o) y[o] += xj * wj[o];
  }
}

namespace {
struct AttnEntry {  // a batched matmul and its memory objects (no buffers: pointed at each call's)
  AttnEntry(dnnl::matmul p, const memory::desc& ad, const memory::desc& bd, const memory::desc& cd)
      : prim(std::move(p)),
        a(ad, cpu_engine(), DNNL_MEMORY_NONE),
        b(bd, cpu_engine(), DNNL_MEMORY_NONE),
        c(cd, cpu_engine(), DNNL_MEMORY_NONE),
        args{{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}} {}
  dnnl::matmul prim;
  memory a, b, c;
  std::unordered_map<int, memory> args;
};
}  // namespace

struct MatmulCache::Impl {
  struct Entry {
    dnnl::matmul prim;
    memory::desc src, dst;
    // made on first use, then pointed at each call's buffers and weights (no per-call memory objects or argument maps)
    memory src_m, dst_m, bias_m;
    std::unordered_map<int, memory> args;
    const std::unordered_map<int, memory>& bind(const void* x, void* y, const memory& weights, int64_t bias_n = 0,
                                                const float* bias = nullptr) {
      if (!src_m) {
        src_m = memory(src, cpu_engine(), DNNL_MEMORY_NONE);
        dst_m = memory(dst, cpu_engine(), DNNL_MEMORY_NONE);
        args = {{DNNL_ARG_SRC, src_m}, {DNNL_ARG_DST, dst_m}};
        if (bias) {
          bias_m = memory(memory::desc({1, bias_n}, dt::f32, tag::ab), cpu_engine(), DNNL_MEMORY_NONE);
          args.emplace(DNNL_ARG_BIAS, bias_m);
        }
      }
      src_m.set_data_handle(const_cast<void*>(x));
      dst_m.set_data_handle(y);
      if (bias) bias_m.set_data_handle(const_cast<float*>(bias));
      args[DNNL_ARG_WEIGHTS] = weights;
      return args;
    }
  };
  std::map<std::tuple<int, int, int, size_t>, Entry> prims;  // (n, k, precision, m): layers of one shape share
  std::map<std::tuple<int, int, size_t, int, int, int>, Entry> fused;  // (n, k, m, bias, act, bf16 out)
  std::map<std::tuple<int, size_t, size_t, size_t>, AttnEntry> attn;  // (kind, heads, len, d)
  dnnl::stream stream{cpu_engine()};
};

MatmulCache::MatmulCache() : impl_(std::make_unique<Impl>()) {}
MatmulCache::~MatmulCache() = default;
MatmulCache::MatmulCache(MatmulCache&&) noexcept = default;
MatmulCache& MatmulCache::operator=(MatmulCache&&) noexcept = default;

void MatmulCache::run_s8(const PackedLinear& w, const int8_t* x, size_t m, int32_t* acc) {
  if (m == 0) return;
  omp_set_num_threads(1);
  auto key = std::make_tuple(w.n(), w.k(), static_cast<int>(Precision::INT8), m);
  auto it = impl_->prims.find(key);
  if (it == impl_->prims.end()) {
    if (impl_->prims.size() > 512) impl_->prims.clear();
    auto pd = make_pd(static_cast<int64_t>(m), w.n(), w.k(), Precision::INT8, w.impl().weights.get_desc());
    it = impl_->prims.emplace(key, Impl::Entry{dnnl::matmul(pd), pd.src_desc(), pd.dst_desc()}).first;
  }
  memory src(it->second.src, cpu_engine(), const_cast<int8_t*>(x));
  memory dst(it->second.dst, cpu_engine(), acc);
  it->second.prim.execute(impl_->stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w.impl().weights}, {DNNL_ARG_DST, dst}});
  impl_->stream.wait();
}

void MatmulCache::run_u8(const PackedLinear& w, const uint8_t* x, size_t m, int32_t* acc) {
  if (m == 0) return;
  omp_set_num_threads(1);
  auto key = std::make_tuple(w.n(), w.k(), 3, m);  // 3: INT8 weights with u8 inputs
  auto it = impl_->prims.find(key);
  if (it == impl_->prims.end()) {
    if (impl_->prims.size() > 512) impl_->prims.clear();
    auto pd = make_pd(static_cast<int64_t>(m), w.n(), w.k(), Precision::INT8, w.impl().weights.get_desc(), true);
    it = impl_->prims.emplace(key, Impl::Entry{dnnl::matmul(pd), pd.src_desc(), pd.dst_desc()}).first;
  }
  memory src(it->second.src, cpu_engine(), const_cast<uint8_t*>(x));
  memory dst(it->second.dst, cpu_engine(), acc);
  it->second.prim.execute(impl_->stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w.impl().weights}, {DNNL_ARG_DST, dst}});
  impl_->stream.wait();
}

void MatmulCache::run(const PackedLinear& w, const void* x, size_t m, float* y, const float* row_scale) {
  if (m == 0) return;
  if (w.precision() == Precision::INT8) {  // int32 products -> float, in place
    run_s8(w, static_cast<const int8_t*>(x), m, reinterpret_cast<int32_t*>(y));
    const size_t n = static_cast<size_t>(w.n());
    for (size_t r = 0; r < m; ++r) {
      simd::dequant_row(reinterpret_cast<int32_t*>(y + r * n), row_scale ? row_scale[r] : 1.0f, w.col_scale(), nullptr, n, y + r * n);
    }
    return;
  }
  omp_set_num_threads(1);  // the engine's pool parallelises; oneDNN runs on the calling thread
  auto key = std::make_tuple(w.n(), w.k(), static_cast<int>(w.precision()), m);
  auto it = impl_->prims.find(key);
  if (it == impl_->prims.end()) {
    if (impl_->prims.size() > 512) impl_->prims.clear();  // bound the cache; primitives are cheap to remake
    const auto& wd = w.impl().weights.get_desc();
    auto pd = make_pd(static_cast<int64_t>(m), w.n(), w.k(), w.precision(), wd);
    it = impl_->prims.emplace(key, Impl::Entry{dnnl::matmul(pd), pd.src_desc(), pd.dst_desc()}).first;
  }
  it->second.prim.execute(impl_->stream, it->second.bind(x, y, w.impl().weights));
  impl_->stream.wait();
}

namespace {

// The eltwise post-op of an activation (false for Act::None).
bool eltwise_of(Act act, dnnl::algorithm* alg, float* alpha) {
  *alpha = 0.0f;
  switch (act) {
    case Act::None: return false;
    case Act::Gelu: *alg = dnnl::algorithm::eltwise_gelu_erf; return true;
    case Act::GeluTanh: *alg = dnnl::algorithm::eltwise_gelu_tanh; return true;
    case Act::Relu: *alg = dnnl::algorithm::eltwise_relu; return true;
    case Act::Tanh: *alg = dnnl::algorithm::eltwise_tanh; return true;
    case Act::Silu: *alg = dnnl::algorithm::eltwise_swish; *alpha = 1.0f; return true;
  }
  return false;
}

}  // namespace

void MatmulCache::run_fused(const PackedLinear& w, const uint16_t* x, size_t m, void* y, bool bf16_out, const float* bias,
                            Act act) {
  if (m == 0) return;
  omp_set_num_threads(1);
  auto key = std::make_tuple(w.n(), w.k(), m, bias ? 1 : 0, static_cast<int>(act), bf16_out ? 1 : 0);
  auto it = impl_->fused.find(key);
  if (it == impl_->fused.end()) {
    if (impl_->fused.size() > 512) impl_->fused.clear();
    const auto mm = static_cast<int64_t>(m), n = static_cast<int64_t>(w.n());
    memory::desc a({mm, w.k()}, dt::bf16, tag::ab), c({mm, n}, bf16_out ? dt::bf16 : dt::f32, tag::ab);
    memory::desc b = bias ? memory::desc({1, n}, dt::f32, tag::ab) : memory::desc();
    dnnl::primitive_attr attr;
    dnnl::algorithm alg{};
    float alpha = 0.0f;
    if (eltwise_of(act, &alg, &alpha)) {
      dnnl::post_ops po;
      po.append_eltwise(1.0f, alg, alpha, 0.0f);
      attr.set_post_ops(po);
    }
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, w.impl().weights.get_desc(), b, c), attr, cpu_engine());
    it = impl_->fused.emplace(key, Impl::Entry{dnnl::matmul(pd), pd.src_desc(), pd.dst_desc()}).first;
  }
  it->second.prim.execute(impl_->stream, it->second.bind(x, y, w.impl().weights, w.n(), bias));
  impl_->stream.wait();
}

namespace {

// One batched matmul c = a b over heads, its primitive cached under (kind, heads, len, d).
template <class Cache>
void batched_matmul(Cache& cache, dnnl::stream& stream, int kind, size_t heads, size_t len, size_t d, const memory::desc& ad,
                    const memory::desc& bd, const memory::desc& cd, const void* a, const void* b, float* c) {
  omp_set_num_threads(1);
  auto key = std::make_tuple(kind, heads, len, d);
  auto it = cache.find(key);
  if (it == cache.end()) {
    if (cache.size() > 256) cache.clear();
    dnnl::matmul prim(dnnl::matmul::primitive_desc(dnnl::matmul::desc(ad, bd, cd), cpu_engine()));
    it = cache.emplace(std::piecewise_construct, std::forward_as_tuple(key), std::forward_as_tuple(prim, ad, bd, cd)).first;
  }
  AttnEntry& e = it->second;  // memory objects made once per primitive, pointed at this call's buffers
  e.a.set_data_handle(const_cast<void*>(a));
  e.b.set_data_handle(const_cast<void*>(b));
  e.c.set_data_handle(c);
  e.prim.execute(stream, e.args);
  stream.wait();
}

}  // namespace

namespace {
// The [heads, len, d] x [heads, d, len] and [heads, len, len] x [heads, len, d] descriptors of attention in type t.
// k is stored [heads, len, d]; read as the [heads, d, len] right operand through the acb layout (strided reads of
// Q, K, V in place from the [Q K V] rows ran the scores ~1.5-3x slower in oneDNN 2.6 on AMX, more than the copy costs)
std::array<memory::desc, 3> attention_descs(int kind, size_t heads, size_t len, size_t d, dt t) {
  const auto h = static_cast<int64_t>(heads), l = static_cast<int64_t>(len), dd = static_cast<int64_t>(d);
  if (kind == 0) return {memory::desc({h, l, dd}, t, tag::abc), memory::desc({h, dd, l}, t, tag::acb), memory::desc({h, l, l}, dt::f32, tag::abc)};
  return {memory::desc({h, l, l}, t, tag::abc), memory::desc({h, l, dd}, t, tag::abc), memory::desc({h, l, dd}, dt::f32, tag::abc)};
}
}  // namespace

void MatmulCache::attention_product(int kind, bool f32, size_t heads, size_t len, size_t d, const void* a, const void* b,
                                    float* c) {
  const auto ds = attention_descs(kind, heads, len, d, f32 ? dt::f32 : dt::bf16);
  batched_matmul(impl_->attn, impl_->stream, kind + (f32 ? 2 : 0), heads, len, d, ds[0], ds[1], ds[2], a, b, c);
}

void MatmulCache::attention_scores(size_t heads, size_t len, size_t d, const uint16_t* q, const uint16_t* k, float* scores) {
  attention_product(0, false, heads, len, d, q, k, scores);
}
void MatmulCache::attention_context(size_t heads, size_t len, size_t d, const uint16_t* p, const uint16_t* v, float* ctx) {
  attention_product(1, false, heads, len, d, p, v, ctx);
}
void MatmulCache::attention_scores(size_t heads, size_t len, size_t d, const float* q, const float* k, float* scores) {
  attention_product(0, true, heads, len, d, q, k, scores);
}
void MatmulCache::attention_context(size_t heads, size_t len, size_t d, const float* p, const float* v, float* ctx) {
  attention_product(1, true, heads, len, d, p, v, ctx);
}

}  // namespace rerank::kernels

#include "kernels/matmul_w8.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <dnnl.hpp>
#include <map>
#include <tuple>

namespace rerank::kernels {

namespace {

using dnnl::memory;
using dt = memory::data_type;

dnnl::engine& engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

struct Prim {
  dnnl::matmul prim;
  memory::desc src, wei, dst;
};

// Per-thread oneDNN state: primitives by (m, block width, k, ldy), the stream and the widened bf16 block.
struct ThreadState {
  std::map<std::tuple<size_t, int, int, size_t>, Prim> prims;
  dnnl::stream stream{engine()};
  std::vector<uint16_t> block;
};

ThreadState& state() {
  thread_local ThreadState s;
  return s;
}

const Prim& prim_for(ThreadState& ts, size_t m, int w, int k, size_t ldy) {
  const auto key = std::make_tuple(m, w, k, ldy);
  auto it = ts.prims.find(key);
  if (it != ts.prims.end()) return it->second;
  if (ts.prims.size() > 256) ts.prims.clear();  // bounded; primitives are cheap to remake
  const auto mm = static_cast<int64_t>(m);
  memory::desc src({mm, k}, dt::bf16, memory::format_tag::ab);
  memory::desc wei({k, w}, dt::bf16, memory::format_tag::ab);
  memory::desc dst({mm, w}, dt::f32, memory::dims{static_cast<int64_t>(ldy), 1});
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, wei, dst), engine());
  return ts.prims.emplace(key, Prim{dnnl::matmul(pd), src, wei, dst}).first->second;
}

}  // namespace

Int8WeightOnly::Int8WeightOnly(const float* w, int n, int k)
    : n_(n), k_(k), q_(static_cast<size_t>(n) * k), scale_(static_cast<size_t>(n)) {
  const size_t K = static_cast<size_t>(k);
  for (int c0 = 0; c0 < n; c0 += kBlock) {
    const int width = std::min(kBlock, n - c0);
    int8_t* dst = &q_[static_cast<size_t>(c0) * K];
    for (int j = 0; j < width; ++j) {
      const float* row = w + static_cast<size_t>(c0 + j) * K;
      float mx = 0.0f;
      for (size_t i = 0; i < K; ++i) mx = std::max(mx, std::fabs(row[i]));
      const float scale = mx > 0 ? mx / 127.0f : 1.0f;
      scale_[static_cast<size_t>(c0 + j)] = scale;
      for (size_t i = 0; i < K; ++i) {
        const float v = std::nearbyint(row[i] / scale);
        dst[i * static_cast<size_t>(width) + static_cast<size_t>(j)] = static_cast<int8_t>(std::clamp(v, -127.0f, 127.0f));
      }
    }
  }
}

float Int8WeightOnly::weight(int o, int i) const {
  const int c0 = o / kBlock * kBlock, width = std::min(kBlock, n_ - c0);
  const int8_t v = q_[static_cast<size_t>(c0) * static_cast<size_t>(k_) + static_cast<size_t>(i) * static_cast<size_t>(width) +
                      static_cast<size_t>(o - c0)];
  return static_cast<float>(v) * scale_[static_cast<size_t>(o)];
}

void Int8WeightOnly::run(const uint16_t* x, size_t m, float* y, size_t ldy) const {
  if (m == 0) return;
  omp_set_num_threads(1);  // the engine's pool parallelises; oneDNN runs on the calling thread
  ThreadState& ts = state();
  const size_t K = static_cast<size_t>(k_);
  ts.block.resize(K * static_cast<size_t>(std::min(kBlock, n_)));
  for (int c0 = 0; c0 < n_; c0 += kBlock) {
    const int width = std::min(kBlock, n_ - c0);
    const size_t count = K * static_cast<size_t>(width);
    const int8_t* q = &q_[static_cast<size_t>(c0) * K];
    uint16_t* b = ts.block.data();
    for (size_t i = 0; i < count; ++i) {  // an int8 is exact in bf16: the top half of its float
      const float f = static_cast<float>(q[i]);
      uint32_t u;
      std::memcpy(&u, &f, 4);
      b[i] = static_cast<uint16_t>(u >> 16);
    }
    const Prim& p = prim_for(ts, m, width, k_, ldy);
    memory src(p.src, engine(), const_cast<uint16_t*>(x));
    memory wei(p.wei, engine(), b);
    memory dst(p.dst, engine(), y + c0);
    p.prim.execute(ts.stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_DST, dst}});
    ts.stream.wait();
    const float* sc = &scale_[static_cast<size_t>(c0)];
    for (size_t r = 0; r < m; ++r) {
      float* row = y + r * ldy + c0;
      for (int j = 0; j < width; ++j) row[j] *= sc[j];
    }
  }
}

}  // namespace rerank::kernels

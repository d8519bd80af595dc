#include "model/bert.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/convert.hpp"
#include "kernels/ops.hpp"
#include "kernels/simd.hpp"
#include "rerank/error.hpp"

namespace rerank::model {
namespace {

// Looks a tensor up under the names checkpoints use: with or without the "bert." prefix, LayerNorm
// weight/bias or the older gamma/beta.
class Loader {
 public:
  Loader(const TensorStore& store, BertWeights& w) : store_(store), w_(w) {}

  const TensorInfo* find(const std::string& name) const {
    for (const char* prefix : {"", "bert.", "model."}) {
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

  const TensorInfo& require(const std::string& name, std::vector<int64_t> shape) const {
    const TensorInfo* t = find(name);
    if (!t) throw ModelError("model weights: tensor '" + name + "' (or 'bert." + name + "') not found");
    if (t->shape != shape) {
      throw ModelError(t->file + ": tensor '" + t->name + "' has shape " + shape_str(t->shape) + ", but config.json implies " +
                       shape_str(shape));
    }
    return *t;
  }

  // A float pointer to the tensor: in place for aligned F32, else a converted copy kept in w.owned.
  const float* f32(const std::string& name, std::vector<int64_t> shape) {
    const TensorInfo& t = require(name, shape);
    if (t.dtype == DType::F32 && reinterpret_cast<uintptr_t>(t.data) % alignof(float) == 0) {
      return reinterpret_cast<const float*>(t.data);
    }
    w_.owned.push_back(TensorStore::to_f32(t));
    return w_.owned.back().data();
  }

  Linear linear(const std::string& prefix, int out, int in) {
    Linear l;
    l.w = f32(prefix + ".weight", {out, in});
    l.b = f32(prefix + ".bias", {out});
    l.out = out;
    l.in = in;
    return l;
  }

  Norm norm(const std::string& prefix, int n) { return Norm{f32(prefix + ".weight", {n}), f32(prefix + ".bias", {n})}; }

  // query/key/value fused into one [3H, H] weight and [3H] bias
  Linear qkv(const std::string& prefix, int h) {
    std::vector<float> wt(static_cast<size_t>(3) * h * h), bias(static_cast<size_t>(3) * h);
    const char* names[] = {"query", "key", "value"};
    for (int i = 0; i < 3; ++i) {
      auto wi = TensorStore::to_f32(require(prefix + "." + names[i] + ".weight", {h, h}));
      auto bi = TensorStore::to_f32(require(prefix + "." + names[i] + ".bias", {h}));
      std::copy(wi.begin(), wi.end(), wt.begin() + static_cast<size_t>(i) * h * h);
      std::copy(bi.begin(), bi.end(), bias.begin() + static_cast<size_t>(i) * h);
    }
    w_.owned.push_back(std::move(wt));
    const float* wp = w_.owned.back().data();
    w_.owned.push_back(std::move(bias));
    return Linear{wp, w_.owned.back().data(), 3 * h, h};
  }

 private:
  const TensorStore& store_;
  BertWeights& w_;
};

// y[rows] = x[rows] W^T, then a per-row epilogue (bias, activation, residual + LayerNorm); rows split across the
// pool, one single-threaded GEMM each: OpenBLAS sgemm in fp32, oneDNN on rows converted to bf16 / int8 otherwise.
template <class Epilogue>
void linear_rows(const float* x, size_t rows, const Linear& l, const kernels::PackedLinear* packed, float* y,
                 BertScratch& s, ThreadPool& pool, Epilogue epilogue) {
  pool.parallel_for(
      rows,
      [&](size_t b, size_t e, size_t worker) {
        const size_t m = e - b, k = static_cast<size_t>(l.in);
        if (!packed) {
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m), l.out, l.in, 1.0f, x + b * k, l.in, l.w,
                      l.in, 0.0f, y + b * l.out, l.out);
        } else if (packed->precision() == Precision::BF16) {
          auto& buf = s.lowp[worker];
          buf.resize(m * k * 2);
          auto* x16 = reinterpret_cast<uint16_t*>(buf.data());
          for (size_t r = 0; r < m; ++r) kernels::f32_to_bf16(x + (b + r) * k, x16 + r * k, k);
          s.matmuls[worker].run(*packed, x16, m, y + b * l.out);
        } else {
          auto& buf = s.lowp[worker];
          auto& scale = s.row_scale[worker];
          buf.resize(m * k);
          scale.resize(m);
          for (size_t r = 0; r < m; ++r) scale[r] = kernels::quantize_row_s8(x + (b + r) * k, reinterpret_cast<int8_t*>(buf.data()) + r * k, k);
          s.matmuls[worker].run(*packed, buf.data(), m, y + b * l.out, scale.data());
        }
        for (size_t r = b; r < e; ++r) epilogue(r);
      },
      16);
}

// Exact path: per (sequence, head), two OpenBLAS sgemm calls around a softmax.
void attention_fp32(const std::vector<Sequence>& seqs, BertScratch& s, ThreadPool& pool, size_t H, size_t nh, float scale) {
  const size_t dh = H / nh;
  pool.parallel_for(seqs.size() * nh, [&](size_t b, size_t e, size_t worker) {
    float* S = s.scores[worker].data();
    for (size_t job = b; job < e; ++job) {
      const size_t i = job / nh, head = job % nh, len = seqs[i].len, off = s.offsets[i];
      const float* q = &s.qkv[off * 3 * H + head * dh];
      const float* k = q + H;
      const float* v = q + 2 * H;
      const int n = static_cast<int>(len), d = static_cast<int>(dh), ld = static_cast<int>(3 * H);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, d, 1.0f, q, ld, k, ld, 0.0f, S, n);
      for (size_t r = 0; r < len; ++r) kernels::simd::softmax_row(S + r * len, len, scale);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, n, 1.0f, S, n, v, ld, 0.0f, &s.ctx[off * H + head * dh],
                  static_cast<int>(H));
    }
  });
}

// Fast path: per sequence, all heads in two batched bf16 oneDNN matmuls (AMX where present). Lengths are rounded up
// to a multiple of 16 so few primitives are made; padded keys are masked out of the softmax, padded rows dropped.
void attention_bf16(const std::vector<Sequence>& seqs, BertScratch& s, ThreadPool& pool, size_t H, size_t nh, float scale) {
  const size_t dh = H / nh;
  pool.parallel_for(seqs.size(), [&](size_t b, size_t e, size_t worker) {
    auto& b16 = s.attn16[worker];
    auto& b32 = s.attn32[worker];
    for (size_t i = b; i < e; ++i) {
      const size_t len = seqs[i].len, off = s.offsets[i], lp = (len + 15) / 16 * 16;
      const size_t qkv_n = nh * lp * dh, p_n = nh * lp * lp;
      b16.assign(3 * qkv_n + p_n, 0);
      b32.resize(p_n + qkv_n);
      uint16_t *q16 = b16.data(), *k16 = q16 + qkv_n, *v16 = k16 + qkv_n, *p16 = v16 + qkv_n;
      float *S = b32.data(), *O = S + p_n;
      for (size_t r = 0; r < len; ++r) {
        const float* row = &s.qkv[(off + r) * 3 * H];
        for (size_t h = 0; h < nh; ++h) {
          kernels::f32_to_bf16(row + h * dh, q16 + (h * lp + r) * dh, dh);
          kernels::f32_to_bf16(row + H + h * dh, k16 + (h * lp + r) * dh, dh);
          kernels::f32_to_bf16(row + 2 * H + h * dh, v16 + (h * lp + r) * dh, dh);
        }
      }
      s.matmuls[worker].attention_scores(nh, lp, dh, q16, k16, S);
      for (size_t h = 0; h < nh; ++h) {
        for (size_t r = 0; r < len; ++r) {
          float* srow = S + (h * lp + r) * lp;
          kernels::simd::softmax_row(srow, len, scale);
          kernels::f32_to_bf16(srow, p16 + (h * lp + r) * lp, len);  // columns >= len stay 0
        }
      }
      s.matmuls[worker].attention_context(nh, lp, dh, p16, v16, O);
      for (size_t r = 0; r < len; ++r) {
        for (size_t h = 0; h < nh; ++h) {
          std::copy(O + (h * lp + r) * dh, O + (h * lp + r + 1) * dh, &s.ctx[(off + r) * H + h * dh]);
        }
      }
    }
  });
}

}  // namespace

BertWeights load_bert_weights(const TensorStore& store, const ModelInfo& info) {
  BertWeights w;
  Loader ld(store, w);
  const int h = info.hidden_size, im = info.intermediate_size;
  w.word = ld.f32("embeddings.word_embeddings.weight", {info.vocab_size, h});
  w.pos = ld.f32("embeddings.position_embeddings.weight", {info.max_position_embeddings, h});
  w.type = ld.f32("embeddings.token_type_embeddings.weight", {info.type_vocab_size, h});
  w.emb_ln = ld.norm("embeddings.LayerNorm", h);
  for (int i = 0; i < info.num_layers; ++i) {
    const std::string p = "encoder.layer." + std::to_string(i);
    BertLayer L;
    L.qkv = ld.qkv(p + ".attention.self", h);
    L.attn_out = ld.linear(p + ".attention.output.dense", h, h);
    L.ln1 = ld.norm(p + ".attention.output.LayerNorm", h);
    L.inter = ld.linear(p + ".intermediate.dense", im, h);
    L.out = ld.linear(p + ".output.dense", h, im);
    L.ln2 = ld.norm(p + ".output.LayerNorm", h);
    w.layers.push_back(L);
  }
  if (ld.find("encoder.layer." + std::to_string(info.num_layers) + ".attention.self.query.weight")) {
    throw ModelError("model weights: the checkpoint has more layers than config.json's num_hidden_layers = " +
                     std::to_string(info.num_layers));
  }
  if (info.has_classifier) {
    w.pooler = ld.linear("pooler.dense", h, h);
    const TensorInfo* cw = ld.find("classifier.weight");
    if (cw && cw->shape.size() == 2 && cw->shape[0] != info.num_labels) {
      throw ModelError(cw->file + ": tensor 'classifier.weight' has " + std::to_string(cw->shape[0]) +
                       " outputs, but config.json's id2label/num_labels says " + std::to_string(info.num_labels));
    }
    w.classifier = ld.linear("classifier", info.num_labels, h);
  }
  return w;
}

std::unique_ptr<PackedBert> pack_bert(const BertWeights& w, Precision p) {
  auto pb = std::make_unique<PackedBert>();
  for (const BertLayer& L : w.layers) {
    PackedBert::Layer pl;
    auto pack = [&](const Linear& l) { return std::make_unique<kernels::PackedLinear>(l.w, l.out, l.in, p); };
    pl.qkv = pack(L.qkv);
    pl.attn_out = pack(L.attn_out);
    pl.inter = pack(L.inter);
    pl.out = pack(L.out);
    pb->layers.push_back(std::move(pl));
  }
  return pb;
}

void bert_encode(const ModelInfo& info, const BertWeights& w, const PackedBert* packed, const std::vector<Sequence>& seqs,
                 BertScratch& s, ThreadPool& pool) {
  const size_t H = static_cast<size_t>(info.hidden_size), I = static_cast<size_t>(info.intermediate_size);
  const size_t nh = static_cast<size_t>(info.num_heads), dh = H / nh;
  s.offsets.assign(seqs.size() + 1, 0);
  size_t max_len = 0;
  for (size_t i = 0; i < seqs.size(); ++i) {
    const Sequence& q = seqs[i];
    if (q.len == 0) throw InputError("empty token sequence");
    if (q.len > static_cast<size_t>(info.max_position_embeddings)) {
      throw InputError("sequence of " + std::to_string(q.len) + " tokens exceeds max_position_embeddings " +
                       std::to_string(info.max_position_embeddings));
    }
    for (size_t t = 0; t < q.len; ++t) {
      if (q.ids[t] < 0 || q.ids[t] >= info.vocab_size) {
        throw InputError("token id " + std::to_string(q.ids[t]) + " is outside the model's vocabulary of " +
                         std::to_string(info.vocab_size) + " (tokenizer and model do not match?)");
      }
      if (q.type_ids[t] < 0 || q.type_ids[t] >= info.type_vocab_size) {
        throw InputError("token type id " + std::to_string(q.type_ids[t]) + " is outside type_vocab_size " +
                         std::to_string(info.type_vocab_size));
      }
    }
    s.offsets[i + 1] = s.offsets[i] + q.len;
    max_len = std::max(max_len, q.len);
  }
  const size_t T = s.offsets.back();
  s.x.resize(T * H);
  s.qkv.resize(T * 3 * H);
  s.ctx.resize(T * H);
  s.tmp.resize(T * H);
  s.inter.resize(T * I);
  s.scores.resize(pool.size());
  s.lowp.resize(pool.size());
  s.attn16.resize(pool.size());
  s.attn32.resize(pool.size());
  s.row_scale.resize(pool.size());
  while (s.matmuls.size() < pool.size()) s.matmuls.emplace_back();
  for (auto& sc : s.scores) sc.resize(max_len * max_len);
  const float eps = info.layer_norm_eps;
  kernels::Act act = kernels::Act::Gelu;
  kernels::parse_act(info.hidden_act, &act);

  // embeddings: word + position + token type, then LayerNorm
  pool.parallel_for(seqs.size(), [&](size_t b, size_t e, size_t) {
    for (size_t i = b; i < e; ++i) {
      for (size_t t = 0; t < seqs[i].len; ++t) {
        float* x = &s.x[(s.offsets[i] + t) * H];
        const float* we = w.word + static_cast<size_t>(seqs[i].ids[t]) * H;
        const float* pe = w.pos + t * H;
        const float* te = w.type + static_cast<size_t>(seqs[i].type_ids[t]) * H;
        for (size_t k = 0; k < H; ++k) x[k] = we[k] + pe[k] + te[k];
        kernels::simd::residual_layernorm_row(x, nullptr, nullptr, w.emb_ln.gamma, w.emb_ln.beta, H, eps);
      }
    }
  });

  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  for (size_t li = 0; li < w.layers.size(); ++li) {
    const BertLayer& L = w.layers[li];
    const PackedBert::Layer* P = packed ? &packed->layers[li] : nullptr;
    // fused QKV projection
    linear_rows(s.x.data(), T, L.qkv, P ? P->qkv.get() : nullptr, s.qkv.data(), s, pool,
                [&](size_t r) { kernels::simd::bias_act_row(&s.qkv[r * 3 * H], L.qkv.b, 3 * H, kernels::Act::None); });
    // attention: softmax(Q K^T / sqrt(d)) V per sequence and head, no padding so no mask
    if (packed) attention_bf16(seqs, s, pool, H, nh, scale);
    else attention_fp32(seqs, s, pool, H, nh, scale);
    // output projection + residual + LayerNorm
    linear_rows(s.ctx.data(), T, L.attn_out, P ? P->attn_out.get() : nullptr, s.tmp.data(), s, pool, [&](size_t r) {
      kernels::simd::residual_layernorm_row(&s.x[r * H], &s.tmp[r * H], L.attn_out.b, L.ln1.gamma, L.ln1.beta, H, eps);
    });
    // feed-forward
    linear_rows(s.x.data(), T, L.inter, P ? P->inter.get() : nullptr, s.inter.data(), s, pool,
                [&](size_t r) { kernels::simd::bias_act_row(&s.inter[r * I], L.inter.b, I, act); });
    linear_rows(s.inter.data(), T, L.out, P ? P->out.get() : nullptr, s.tmp.data(), s, pool, [&](size_t r) {
      kernels::simd::residual_layernorm_row(&s.x[r * H], &s.tmp[r * H], L.out.b, L.ln2.gamma, L.ln2.beta, H, eps);
    });
  }
}

void bert_classify(const ModelInfo& info, const BertWeights& w, const std::vector<Sequence>& seqs, const BertScratch& s,
                   float* logits) {
  const size_t H = static_cast<size_t>(info.hidden_size), nl = static_cast<size_t>(info.num_labels);
  std::vector<float> pooled(H);
  for (size_t i = 0; i < seqs.size(); ++i) {
    const float* cls = &s.x[s.offsets[i] * H];
    for (size_t o = 0; o < H; ++o) {
      double acc = w.pooler.b[o];
      const float* row = w.pooler.w + o * H;
      for (size_t k = 0; k < H; ++k) acc += static_cast<double>(row[k]) * cls[k];
      pooled[o] = std::tanh(static_cast<float>(acc));
    }
    for (size_t o = 0; o < nl; ++o) {
      double acc = w.classifier.b[o];
      const float* row = w.classifier.w + o * H;
      for (size_t k = 0; k < H; ++k) acc += static_cast<double>(row[k]) * pooled[k];
      logits[i * nl + o] = static_cast<float>(acc);
    }
  }
}

void bert_pool(const ModelInfo& info, const std::vector<Sequence>& seqs, const BertScratch& s, float* out) {
  const size_t H = static_cast<size_t>(info.hidden_size);
  const size_t dim = static_cast<size_t>(info.embedding_dim());
  for (size_t i = 0; i < seqs.size(); ++i) {
    const float* x = &s.x[s.offsets[i] * H];
    const size_t len = seqs[i].len;
    float* o = out + i * dim;
    size_t col = 0;
    const std::vector<std::string> modes = info.pooling.empty() ? std::vector<std::string>{"cls"} : info.pooling;
    for (const std::string& m : modes) {
      float* dst = o + col;
      if (m == "cls") {
        std::copy(x, x + H, dst);
      } else if (m == "lasttoken") {
        std::copy(x + (len - 1) * H, x + len * H, dst);
      } else if (m == "max") {
        std::copy(x, x + H, dst);
        for (size_t t = 1; t < len; ++t)
          for (size_t k = 0; k < H; ++k) dst[k] = std::max(dst[k], x[t * H + k]);
      } else {  // mean, mean_sqrt_len, weightedmean (weights 1..len, as sentence-transformers)
        std::vector<double> acc(H, 0.0);
        double wsum = 0.0;
        for (size_t t = 0; t < len; ++t) {
          const double wt = m == "weightedmean" ? static_cast<double>(t + 1) : 1.0;
          wsum += wt;
          for (size_t k = 0; k < H; ++k) acc[k] += wt * x[t * H + k];
        }
        const double div = m == "mean_sqrt_len" ? std::sqrt(static_cast<double>(len)) : wsum;
        for (size_t k = 0; k < H; ++k) dst[k] = static_cast<float>(acc[k] / div);
      }
      col += H;
    }
    if (info.normalize) {  // torch.nn.functional.normalize: x / max(||x||, 1e-12)
      double n2 = 0.0;
      for (size_t k = 0; k < dim; ++k) n2 += static_cast<double>(o[k]) * o[k];
      const float inv = static_cast<float>(1.0 / std::max(std::sqrt(n2), 1e-12));
      for (size_t k = 0; k < dim; ++k) o[k] *= inv;
    }
  }
}

}  // namespace rerank::model

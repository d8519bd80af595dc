#include "model/bert.hpp"

#include <algorithm>
#include <cmath>

#include "kernels/convert.hpp"
#include "kernels/simd.hpp"
#include "model/config.hpp"
#include "rerank/error.hpp"

namespace rerank::model {

void configure_bert_family(const nlohmann::json& c, const std::filesystem::path& file, ModelInfo& info) {
  const std::string pos_type = config_string(c, file, "position_embedding_type", "absolute");
  if (pos_type != "absolute") {
    throw ModelError(file.string() + ": position_embedding_type '" + pos_type + "' is not supported (supported: absolute)");
  }
  info.type_vocab_size = config_int(c, file, "type_vocab_size", 2, false, 1, 1 << 16);
  info.layer_norm_eps = static_cast<float>(config_number(c, file, "layer_norm_eps", 1e-12));
  info.hidden_act = config_string(c, file, "hidden_act", "gelu");
  config_act(info.hidden_act, file, "hidden_act");
  info.max_sequence_length = static_cast<size_t>(info.max_position_embeddings);
}

void BertEncoder::load_body(const TensorStore& store) {
  WeightLoader ld = loader(store);
  const int h = info_.hidden_size, im = info_.intermediate_size;
  const int e = opt_.embedding_size ? opt_.embedding_size : h;
  word_ = ld.f32("embeddings.word_embeddings.weight", {info_.vocab_size, e});
  pos_ = ld.f32("embeddings.position_embeddings.weight", {info_.max_position_embeddings, e});
  type_ = ld.f32("embeddings.token_type_embeddings.weight", {info_.type_vocab_size, e});
  emb_ln_ = ld.norm("embeddings.LayerNorm", e);
  if (e != h) {
    project_ = ld.linear("embeddings_project", h, e);
    register_linear(project_);
  }
  layers_.resize(static_cast<size_t>(info_.num_layers));  // sized once: register_linear keeps pointers into it
  for (int i = 0; i < info_.num_layers; ++i) {
    const std::string p = "encoder.layer." + std::to_string(i);
    Layer& L = layers_[static_cast<size_t>(i)];
    L.qkv = ld.fused_qkv(p + ".attention.self", h);
    L.attn_out = ld.linear(p + ".attention.output.dense", h, h);
    L.ln1 = ld.norm(p + ".attention.output.LayerNorm", h);
    L.inter = ld.linear(p + ".intermediate.dense", im, h);
    L.out = ld.linear(p + ".output.dense", h, im);
    L.ln2 = ld.norm(p + ".output.LayerNorm", h);
    // INT8: the products whose inputs are LayerNorm outputs (Q/K/V, FFN up) run in int8 with SmoothQuant factors
    // (their outlier channels, e.g. all-MiniLM-L6-v2's channel 99, are what per-row int8 loses most on); the
    // attention output and FFN down stay bf16: all four in int8 reordered SciFact rankings more (Spearman 0.991
    // vs 0.994 against PyTorch fp32 on minilm-l6-real) at the same speed. See docs/PERFORMANCE.md.
    L.attn_out.int8 = false;
    L.out.int8 = false;
    // ... and the input channels of those two whose calibrated max |x| exceeds 6x the median channel's (at most 8;
    // all-MiniLM-L6-v2 has at most 4 per product) stay out of the int8 products, exact in f32 (LLM.int8()-style), so the
    // other channels keep their int8 resolution: Spearman 0.9927 -> 0.9967, top-10 0.95 -> 0.975 (docs/PERFORMANCE.md).
    for (Linear* l : {&L.qkv, &L.inter}) {
      l->outlier_ratio = 6.0f;
      l->max_outliers = 8;
    }
    for (Linear* l : {&L.qkv, &L.attn_out, &L.inter, &L.out}) register_linear(*l);
  }
  // the last layer's Q and [K V] rows as two products of their own, with the fused matrix's int8 choice and
  // SmoothQuant factors (whose per-output-channel quantisation makes them exactly its rows)
  const Linear& qkv = layers_.back().qkv;
  last_q_ = qkv;
  last_q_.out = h;
  last_kv_ = qkv;
  last_kv_.w = qkv.w + static_cast<size_t>(h) * h;
  last_kv_.b = qkv.b + h;
  last_kv_.out = 2 * h;
  for (Linear* l : {&last_q_, &last_kv_}) {
    l->smooth_slot = qkv.slot;
    register_linear(*l);
  }
  // INT8: the first tokens' Q and the last layer's FFN up stay bf16 on that path. They run on one row per sequence, so
  // bf16 costs nothing there, and they are what the head reads most directly: on 60 SciFact queries x 25 abstracts
  // (minilm-l6-real), the per-query centred rms error of int8 against fp32 fell 2.62e-4 -> 2.31e-4 and top-10 swaps
  // 6 -> 3 queries (docs/PERFORMANCE.md). The full last layer (bi-encoders) keeps its int8 FFN up.
  last_q_.int8 = false;
  last_inter_ = layers_.back().inter;
  last_inter_.int8 = false;
  register_linear(last_inter_);
  calibration_vocab_ = info_.vocab_size;
  ld.check_no_layer("encoder.layer." + std::to_string(info_.num_layers) + ".attention.self.query.weight", info_.num_layers);
}

// word + position + token type, then LayerNorm (then ELECTRA's projection)
void BertEncoder::embed(const std::vector<Sequence>& seqs, Scratch& s, ThreadPool& pool) const {
  const size_t H = static_cast<size_t>(info_.hidden_size);
  const size_t E = opt_.embedding_size ? static_cast<size_t>(opt_.embedding_size) : H;
  float* dst = E == H ? s.x.data() : s.tmp.data();
  pool.parallel_for(seqs.size(), [&](size_t b, size_t e, size_t) {
    for (size_t i = b; i < e; ++i) {
      int pos = opt_.padding_idx;  // RoBERTa: cumulative count of non-padding tokens after padding_idx
      for (size_t t = 0; t < seqs[i].len; ++t) {
        const int32_t id = seqs[i].ids[t];
        size_t p = t;
        if (opt_.padding_idx >= 0) p = static_cast<size_t>(id == opt_.padding_idx ? opt_.padding_idx : ++pos);
        float* x = dst + (s.offsets[i] + t) * E;
        const float* we = word_ + static_cast<size_t>(id) * E;
        const float* pe = pos_ + p * E;
        const float* te = type_ + static_cast<size_t>(opt_.type_ids ? seqs[i].type_ids[t] : 0) * E;
        for (size_t k = 0; k < E; ++k) x[k] = we[k] + pe[k] + te[k];
        kernels::simd::residual_layernorm_row(x, nullptr, nullptr, emb_ln_.gamma, emb_ln_.beta, E, info_.layer_norm_eps);
      }
    }
  });
}

void BertEncoder::encode(const std::vector<Sequence>& seqs, Precision p, Scratch& s, ThreadPool& pool) const {
  const size_t H = static_cast<size_t>(info_.hidden_size);
  const size_t E = opt_.embedding_size ? static_cast<size_t>(opt_.embedding_size) : H;
  const size_t T = prepare_batch(seqs, info_.vocab_size, opt_.type_ids ? info_.type_vocab_size : 0, info_.max_sequence_length,
                                 s, pool);
  s.x.resize(T * H);
  if (p == Precision::FP32) {
    s.qkv.resize(T * 3 * H);
    s.ctx.resize(T * H);
  }
  s.tmp.resize(T * std::max(H, E));
  const float eps = info_.layer_norm_eps;
  kernels::Act act = kernels::Act::Gelu;
  kernels::parse_act(info_.hidden_act, &act);

  embed(seqs, s, pool);
  if (E != H) {
    linear_rows(s.tmp.data(), T, project_, packed(project_, p), s.x.data(), s, pool,
                [&](size_t r) { kernels::simd::bias_act_row(&s.x[r * H], project_.b, H, kernels::Act::None); });
  }
  AttentionShape shape;
  shape.hidden = H;
  shape.heads = static_cast<size_t>(info_.num_heads);
  shape.qkv_stride = 3 * H;
  shape.scale = 1.0f / std::sqrt(static_cast<float>(H / shape.heads));
  // bf16 and int8: Q, K, V and the attention context stay bf16 between the products (the products round their
  // inputs to bf16 anyway); biases fused into the products; the residual stream x stays f32. int8 runs each product
  // in the precision its packed matrix has (bf16 for the ones marked ranking-sensitive, see load_body).
  shape.bf16_io = p != Precision::FP32;
  if (shape.bf16_io) {
    s.qkv16.resize(T * 3 * H);
    s.ctx16.resize(T * H);
  }
  auto is_int8 = [](const kernels::PackedLinear* k) { return k && k->precision() == Precision::INT8; };
  // a head on the first token that alone is read: the last layer for those tokens only (never while calibrating)
  const bool first_only = s.first_token_only && info_.has_classifier && head_.input == ClassificationHead::Input::First && !s.calib;
  for (const Layer& L : layers_) {
    if (first_only && &L == &layers_.back()) {
      last_layer_first_tokens(seqs, p, shape, act, s, pool);
      break;
    }
    const kernels::PackedLinear *qkv = packed(L.qkv, p), *ao = packed(L.attn_out, p);
    if (is_int8(qkv)) {
      linear_rows_int8(s.x.data(), nullptr, T, L.qkv, *qkv, nullptr, s.qkv16.data(), s, pool, {});
    } else if (shape.bf16_io) {
      linear_rows_bf16(s.x.data(), nullptr, T, L.qkv, *qkv, kernels::Act::None, nullptr, s.qkv16.data(), s, pool, {});
    } else {
      linear_rows(s.x.data(), T, L.qkv, qkv, s.qkv.data(), s, pool,
                  [&](size_t r) { kernels::simd::bias_act_row(&s.qkv[r * 3 * H], L.qkv.b, 3 * H, kernels::Act::None); });
    }
    // softmax(Q K^T / sqrt(d)) V per sequence and head, no padding so no mask
    attention(seqs, shape, p != Precision::FP32, s, pool);
    auto ln1 = [&](size_t r) {
      kernels::simd::residual_layernorm_row(&s.x[r * H], &s.tmp[r * H], nullptr, L.ln1.gamma, L.ln1.beta, H, eps);
    };
    if (is_int8(ao)) {
      linear_rows_int8(nullptr, s.ctx16.data(), T, L.attn_out, *ao, s.tmp.data(), nullptr, s, pool, ln1);
    } else if (shape.bf16_io) {
      linear_rows_bf16(nullptr, s.ctx16.data(), T, L.attn_out, *ao, kernels::Act::None, s.tmp.data(), nullptr, s, pool, ln1);
    } else {
      linear_rows(s.ctx.data(), T, L.attn_out, ao, s.tmp.data(), s, pool, [&](size_t r) {
        kernels::simd::residual_layernorm_row(&s.x[r * H], &s.tmp[r * H], L.attn_out.b, L.ln1.gamma, L.ln1.beta, H, eps);
      });
    }
    ffn_rows(s.x.data(), T, L.inter, packed(L.inter, p), act, L.out, packed(L.out, p), s.tmp.data(), s, pool, [&](size_t r) {
      kernels::simd::residual_layernorm_row(&s.x[r * H], &s.tmp[r * H], L.out.b, L.ln2.gamma, L.ln2.beta, H, eps);
    });
  }
}

namespace {

// y = x W^T + b over `rows` f32 rows in the precision of `pk` (null: OpenBLAS fp32), into f32 `y` for fp32, else into
// bf16 `y16` (as encode()'s Q K V product).
void product(const float* x, size_t rows, const Linear& l, const kernels::PackedLinear* pk, Precision p, float* y,
             uint16_t* y16, Scratch& s, ThreadPool& pool) {
  const size_t n = static_cast<size_t>(l.out);
  if (pk && pk->precision() == Precision::INT8) {
    linear_rows_int8(x, nullptr, rows, l, *pk, nullptr, y16, s, pool, {});
  } else if (p != Precision::FP32) {
    linear_rows_bf16(x, nullptr, rows, l, *pk, kernels::Act::None, nullptr, y16, s, pool, {});
  } else {
    linear_rows(x, rows, l, pk, y, s, pool, [&](size_t r) { kernels::simd::bias_act_row(&y[r * n], l.b, n, kernels::Act::None); });
  }
}

}  // namespace

// The last layer for the first token of each sequence: K and V of all tokens, then Q, attention, attention output,
// LayerNorms and FFN on the n first-token rows gathered into s.first, written back to their rows of s.x. Each row's
// products are the full layer's for that row (int8's per-row scales included), so the head's input is the same up to
// the order of sums.
void BertEncoder::last_layer_first_tokens(const std::vector<Sequence>& seqs, Precision p, AttentionShape shape,
                                          kernels::Act act, Scratch& s, ThreadPool& pool) const {
  const Layer& L = layers_.back();
  const size_t H = static_cast<size_t>(info_.hidden_size), n = seqs.size(), T = s.offsets.back();
  const float eps = info_.layer_norm_eps;
  s.first.resize(n * H);
  s.first16.resize(n * H);
  float* xc = s.first.data();
  for (size_t i = 0; i < n; ++i) std::copy_n(&s.x[s.offsets[i] * H], H, xc + i * H);
  const bool low = p != Precision::FP32;
  // K V of every token into [T, 2H] rows; Q of the first tokens ([n, H], f32 in s.tmp or bf16 in s.first16)
  product(s.x.data(), T, last_kv_, packed(last_kv_, p), p, s.qkv.data(), s.qkv16.data(), s, pool);
  product(xc, n, last_q_, packed(last_q_, p), p, s.tmp.data(), s.first16.data(), s, pool);
  shape.qkv_stride = 2 * H;
  attention_first_token(seqs, shape, low, low ? nullptr : s.tmp.data(), low ? s.first16.data() : nullptr, 0, s, pool);
  const kernels::PackedLinear* ao = packed(L.attn_out, p);
  auto ln1 = [&](size_t r) {
    kernels::simd::residual_layernorm_row(&xc[r * H], &s.tmp[r * H], nullptr, L.ln1.gamma, L.ln1.beta, H, eps);
  };
  if (ao && ao->precision() == Precision::INT8) {
    linear_rows_int8(nullptr, s.ctx16.data(), n, L.attn_out, *ao, s.tmp.data(), nullptr, s, pool, ln1);
  } else if (low) {
    linear_rows_bf16(nullptr, s.ctx16.data(), n, L.attn_out, *ao, kernels::Act::None, s.tmp.data(), nullptr, s, pool, ln1);
  } else {
    linear_rows(s.ctx.data(), n, L.attn_out, ao, s.tmp.data(), s, pool, [&](size_t r) {
      kernels::simd::residual_layernorm_row(&xc[r * H], &s.tmp[r * H], L.attn_out.b, L.ln1.gamma, L.ln1.beta, H, eps);
    });
  }
  ffn_rows(xc, n, last_inter_, packed(last_inter_, p), act, L.out, packed(L.out, p), s.tmp.data(), s, pool, [&](size_t r) {
    kernels::simd::residual_layernorm_row(&xc[r * H], &s.tmp[r * H], L.out.b, L.ln2.gamma, L.ln2.beta, H, eps);
  });
  for (size_t i = 0; i < n; ++i) std::copy_n(xc + i * H, H, &s.x[s.offsets[i] * H]);
}

void BertEncoder::classify(const std::vector<Sequence>& seqs, const Scratch& s, float* logits) const {
  if (!info_.has_classifier) throw ModelError(info_.directory.string() + ": the model has no classification head");
  head_.apply(seqs, s, logits);
}

namespace {

class Bert final : public BertEncoder {
 public:
  Bert(const ModelInfo& info, const TensorStore& store) : BertEncoder(info, {{"", "bert.", "model."}}) {
    load_body(store);
    if (!info.has_classifier) return;
    WeightLoader ld = loader(store);
    const int h = info.hidden_size;
    head_.dense = ld.linear("pooler.dense", h, h);  // tanh pooler on [CLS], then the classifier
    head_.act = kernels::Act::Tanh;
    const TensorInfo* cw = ld.find("classifier.weight");
    if (cw && cw->shape.size() == 2 && cw->shape[0] != info.num_labels) {
      throw ModelError(cw->file + ": tensor 'classifier.weight' has " + std::to_string(cw->shape[0]) +
                       " outputs, but config.json's id2label/num_labels says " + std::to_string(info.num_labels));
    }
    head_.out = ld.linear("classifier", info.num_labels, h);
  }
};

std::unique_ptr<Architecture> load_bert(const nlohmann::json&, const std::filesystem::path&, const ModelInfo& info,
                                        const TensorStore& store) {
  return std::make_unique<Bert>(info, store);
}

}  // namespace

extern const ArchitectureSpec kBertSpec = {"bert", configure_bert_family, load_bert};

}  // namespace rerank::model

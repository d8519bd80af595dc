// ModernBERT (ModernBertModel / ModernBertForSequenceClassification), as transformers 5's modeling_modernbert.py:
// token embeddings + LayerNorm (no positions), pre-norm layers (layer 0 without attn_norm) with a fused Wqkv,
// rotary positions (theta per layer type: full_attention = global, sliding_attention = local), bidirectional
// sliding-window attention |q - k| <= local_attention / 2 on the local layers, GeGLU MLP (Wi -> act(input) * gate
// -> Wo), biases only where attention_bias / mlp_bias / norm_bias say, a final LayerNorm; the classifier pools
// the first token or the mean (classifier_pooling), then head.dense -> act -> head.norm -> classifier.
#include <cmath>

#include "kernels/simd.hpp"
#include "model/config.hpp"
#include "model/heads.hpp"
#include "rerank/error.hpp"

namespace rerank::model {
namespace {

struct ModernBertConfig {
  bool norm_bias = false, attention_bias = false, mlp_bias = false, classifier_bias = false;
  kernels::Act act = kernels::Act::Gelu, classifier_act = kernels::Act::Gelu;
  bool mean_pooling = false;
  size_t window = 64;                // half of local_attention
  std::vector<bool> local;           // per layer: sliding_attention
  double theta_global = 160000.0, theta_local = 10000.0;
};

void configure_modernbert(const nlohmann::json& c, const std::filesystem::path& file, ModelInfo& info) {
  info.hidden_act = config_string(c, file, "hidden_activation", "gelu");
  config_act(info.hidden_act, file, "hidden_activation");
  info.layer_norm_eps = static_cast<float>(config_number(c, file, "norm_eps", 1e-5));
  info.type_vocab_size = 1;
  info.max_sequence_length = static_cast<size_t>(info.max_position_embeddings);
}

// rope_parameters {"full_attention": {"rope_type": "default", "rope_theta": x}, "sliding_attention": {...}} (new),
// else global_rope_theta / local_rope_theta (old; a null local theta means the global one, as transformers 4).
void read_rope(const nlohmann::json& c, const std::filesystem::path& file, ModernBertConfig& m) {
  m.theta_global = config_number(c, file, "global_rope_theta", 160000.0);
  const bool local_null = c.contains("local_rope_theta") && c["local_rope_theta"].is_null();
  m.theta_local = local_null ? m.theta_global : config_number(c, file, "local_rope_theta", 10000.0);
  if (c.contains("rope_scaling") && !c["rope_scaling"].is_null()) {
    throw ModelError(file.string() + ": 'rope_scaling' is not supported (only the default rotary embedding)");
  }
  if (!c.contains("rope_parameters") || c["rope_parameters"].is_null()) return;
  const auto& rp = c["rope_parameters"];
  if (!rp.is_object()) throw ModelError(file.string() + ": 'rope_parameters' must be an object");
  for (const char* kind : {"full_attention", "sliding_attention"}) {
    if (!rp.contains(kind) || rp[kind].is_null()) continue;
    const auto& p = rp[kind];
    const std::string field = std::string("rope_parameters.") + kind;
    if (!p.is_object()) throw ModelError(file.string() + ": '" + field + "' must be an object");
    const std::string type = config_string(p, file, "rope_type", "default");
    if (type != "default") {
      throw ModelError(file.string() + ": '" + field + ".rope_type' = '" + type + "' is not supported (supported: default)");
    }
    if (p.contains("rope_theta")) {
      (std::string(kind) == "full_attention" ? m.theta_global : m.theta_local) = config_number(p, file, "rope_theta", 0.0);
    }
  }
}

ModernBertConfig read_config(const nlohmann::json& c, const std::filesystem::path& file, const ModelInfo& info) {
  ModernBertConfig m;
  m.norm_bias = config_bool(c, file, "norm_bias", false);
  m.attention_bias = config_bool(c, file, "attention_bias", false);
  m.mlp_bias = config_bool(c, file, "mlp_bias", false);
  m.classifier_bias = config_bool(c, file, "classifier_bias", false);
  m.act = config_act(info.hidden_act, file, "hidden_activation");
  m.classifier_act = config_act(config_string(c, file, "classifier_activation", "gelu"), file, "classifier_activation");
  const std::string pooling = config_string(c, file, "classifier_pooling", "cls");
  if (pooling != "cls" && pooling != "mean") {
    throw ModelError(file.string() + ": classifier_pooling '" + pooling + "' is not supported (cls, mean)");
  }
  m.mean_pooling = pooling == "mean";
  m.window = static_cast<size_t>(config_int(c, file, "local_attention", 128, false, 2, 1 << 24) / 2);
  const int every = config_int(c, file, "global_attn_every_n_layers", 3, false, 1, 1 << 16);
  if (c.contains("layer_types") && !c["layer_types"].is_null()) {
    const auto& lt = c["layer_types"];
    if (!lt.is_array() || lt.size() != static_cast<size_t>(info.num_layers)) {
      throw ModelError(file.string() + ": 'layer_types' must list one type per layer (" + std::to_string(info.num_layers) + ")");
    }
    for (const auto& t : lt) {
      const std::string s = t.is_string() ? t.get<std::string>() : "";
      if (s != "full_attention" && s != "sliding_attention") {
        throw ModelError(file.string() + ": 'layer_types' entries must be \"full_attention\" or \"sliding_attention\"");
      }
      m.local.push_back(s == "sliding_attention");
    }
  } else {
    for (int i = 0; i < info.num_layers; ++i) m.local.push_back(i % every != 0);
  }
  read_rope(c, file, m);
  if (!(m.theta_global > 0) || !(m.theta_local > 0)) throw ModelError(file.string() + ": rope theta must be > 0");
  return m;
}

class ModernBert final : public Architecture {
 public:
  ModernBert(const nlohmann::json& c, const std::filesystem::path& file, const ModelInfo& info, const TensorStore& store);
  void encode(const std::vector<Sequence>& seqs, Precision p, Scratch& s, ThreadPool& pool) const override;
  void classify(const std::vector<Sequence>& seqs, const Scratch& s, float* logits) const override {
    if (!info_.has_classifier) throw ModelError(info_.directory.string() + ": the model has no classification head");
    head_.apply(seqs, s, logits);
  }

 private:
  struct Layer {
    bool has_attn_norm = false;
    Norm attn_norm, mlp_norm;
    Linear wqkv, wo, wi, mlp_wo;
  };
  void rotate_row(float* row, size_t t, bool local) const;
  // GeGLU of one row of Wi's output [input, gate] (biased in place): g = act(input + b) * (gate + b)
  void glu_row(const Layer& L, float* in, float* g) const {
    const size_t I = static_cast<size_t>(info_.intermediate_size);
    float* gate = in + I;
    if (L.wi.b) {
      for (size_t k = 0; k < I; ++k) gate[k] += L.wi.b[I + k];
    }
    kernels::simd::bias_act_row(in, L.wi.b, I, cfg_.act);
    for (size_t k = 0; k < I; ++k) g[k] = in[k] * gate[k];
  }
  // attention norm (when the layer has one), then Q K V with bias and rotary for the T rows of s.x into s.qkv
  void project_qkv(const Layer& L, bool local, size_t T, const std::vector<uint32_t>& pos, Precision p, Scratch& s,
                   ThreadPool& pool) const;
  void layer_first_tokens(const Layer& L, bool local, const std::vector<Sequence>& seqs, const std::vector<uint32_t>& pos,
                          Precision p, AttentionShape shape, Scratch& s, ThreadPool& pool) const;
  // cos / sin of position t and frequency j: table[(t * dh/2 + j)], per theta (0 global, 1 local)
  std::vector<float> cos_[2], sin_[2];
  ModelInfo info_;
  ModernBertConfig cfg_;
  const float* tok_ = nullptr;
  Norm emb_norm_, final_norm_;
  std::vector<Layer> layers_;
  ClassificationHead head_;
};

ModernBert::ModernBert(const nlohmann::json& c, const std::filesystem::path& file, const ModelInfo& info,
                       const TensorStore& store)
    : info_(info), cfg_(read_config(c, file, info)) {
  WeightLoader ld(store, {"", "model."}, owned_);
  const int h = info.hidden_size, im = info.intermediate_size;
  tok_ = ld.f32("embeddings.tok_embeddings.weight", {info.vocab_size, h});
  emb_norm_ = ld.norm("embeddings.norm", h, cfg_.norm_bias);
  layers_.resize(static_cast<size_t>(info.num_layers));  // sized once: register_linear keeps pointers into it
  for (int i = 0; i < info.num_layers; ++i) {
    const std::string p = "layers." + std::to_string(i);
    Layer& L = layers_[static_cast<size_t>(i)];
    L.has_attn_norm = i > 0;
    if (L.has_attn_norm) L.attn_norm = ld.norm(p + ".attn_norm", h, cfg_.norm_bias);
    L.wqkv = ld.linear(p + ".attn.Wqkv", 3 * h, h, cfg_.attention_bias);
    L.wo = ld.linear(p + ".attn.Wo", h, h, cfg_.attention_bias);
    L.mlp_norm = ld.norm(p + ".mlp_norm", h, cfg_.norm_bias);
    L.wi = ld.linear(p + ".mlp.Wi", 2 * im, h, cfg_.mlp_bias);
    L.mlp_wo = ld.linear(p + ".mlp.Wo", h, im, cfg_.mlp_bias);
    for (Linear* l : {&L.wqkv, &L.wo, &L.wi, &L.mlp_wo}) register_linear(*l);
  }
  ld.check_no_layer("layers." + std::to_string(info.num_layers) + ".attn.Wqkv.weight", info.num_layers);
  final_norm_ = ld.norm("final_norm", h, cfg_.norm_bias);
  if (info.has_classifier) {
    head_.input = cfg_.mean_pooling ? ClassificationHead::Input::Mean : ClassificationHead::Input::First;
    head_.dense = ld.linear("head.dense", h, h, cfg_.classifier_bias);
    head_.act = cfg_.classifier_act;
    head_.has_norm = true;
    head_.norm = ld.norm("head.norm", h, cfg_.norm_bias);
    head_.eps = info.layer_norm_eps;
    head_.out = ld.linear("classifier", info.num_labels, h);
  }
  // rotary tables in float32 as torch computes them: inv_freq = 1 / theta^(2j/d), angle = float(t) * inv_freq
  const size_t dh = static_cast<size_t>(h / info.num_heads), half = dh / 2, n = info.max_sequence_length;
  for (int k = 0; k < 2; ++k) {
    const float theta = static_cast<float>(k == 0 ? cfg_.theta_global : cfg_.theta_local);
    cos_[k].resize(n * half);
    sin_[k].resize(n * half);
    for (size_t j = 0; j < half; ++j) {
      const float inv = 1.0f / std::pow(theta, static_cast<float>(2 * j) / static_cast<float>(dh));
      for (size_t t = 0; t < n; ++t) {
        const float a = static_cast<float>(t) * inv;
        cos_[k][t * half + j] = std::cos(a);
        sin_[k][t * half + j] = std::sin(a);
      }
    }
  }
}

// q, k of every head of one [Q K V] row at position t: x * cos + rotate_half(x) * sin, rotate_half(x) = (-x[d/2:], x[:d/2])
void ModernBert::rotate_row(float* row, size_t t, bool local) const {
  const size_t H = static_cast<size_t>(info_.hidden_size), nh = static_cast<size_t>(info_.num_heads), dh = H / nh, half = dh / 2;
  const float* __restrict c = cos_[local ? 1 : 0].data() + t * half;
  const float* __restrict sn = sin_[local ? 1 : 0].data() + t * half;
  for (size_t v = 0; v < 2 * nh; ++v) {  // Q's heads then K's (contiguous in the row)
    float* __restrict x1 = row + v * dh;
    float* __restrict x2 = x1 + half;
    for (size_t j = 0; j < half; ++j) {
      const float a = x1[j], b = x2[j];
      x1[j] = a * c[j] - b * sn[j];
      x2[j] = b * c[j] + a * sn[j];
    }
  }
}

void ModernBert::encode(const std::vector<Sequence>& seqs, Precision p, Scratch& s, ThreadPool& pool) const {
  const size_t H = static_cast<size_t>(info_.hidden_size), I = static_cast<size_t>(info_.intermediate_size);
  const size_t T = prepare_batch(seqs, info_.vocab_size, 0, info_.max_sequence_length, s, pool);
  const float eps = info_.layer_norm_eps;
  s.x.resize(T * H);
  s.norm.resize(T * H);
  s.qkv.resize(T * 3 * H);
  s.ctx.resize(T * H);
  s.tmp.resize(T * std::max(H, I));
  s.inter.resize(T * 2 * I);
  std::vector<uint32_t> pos(T);  // each row's position in its sequence (rotary)
  for (size_t i = 0; i < seqs.size(); ++i) {
    for (size_t t = 0; t < seqs[i].len; ++t) pos[s.offsets[i] + t] = static_cast<uint32_t>(t);
  }
  pool.parallel_for(seqs.size(), [&](size_t b, size_t e, size_t) {
    for (size_t i = b; i < e; ++i) {
      for (size_t t = 0; t < seqs[i].len; ++t) {
        const float* we = tok_ + static_cast<size_t>(seqs[i].ids[t]) * H;
        layernorm_row(we, &s.x[(s.offsets[i] + t) * H], emb_norm_, H, eps);
      }
    }
  });
  AttentionShape shape;
  shape.hidden = H;
  shape.heads = static_cast<size_t>(info_.num_heads);
  shape.qkv_stride = 3 * H;
  shape.scale = 1.0f / std::sqrt(static_cast<float>(H / shape.heads));
  // a head on the first token that alone is read (classifier_pooling cls): the last layer for those tokens only
  const bool first_only = s.first_token_only && info_.has_classifier && !cfg_.mean_pooling && !s.calib;
  for (size_t li = 0; li < layers_.size(); ++li) {
    const Layer& L = layers_[li];
    const bool local = cfg_.local[li];
    if (first_only && li + 1 == layers_.size()) {
      layer_first_tokens(L, local, seqs, pos, p, shape, s, pool);
      return;
    }
    project_qkv(L, local, T, pos, p, s, pool);
    shape.window = local ? cfg_.window : 0;
    attention(seqs, shape, p != Precision::FP32, s, pool);
    linear_rows(s.ctx.data(), T, L.wo, packed(L.wo, p), s.tmp.data(), s, pool, residual_add_rows(s.x.data(), s.tmp.data(), L.wo.b, H));
    pool.parallel_for(T, [&](size_t b, size_t e, size_t) {
      for (size_t r = b; r < e; ++r) layernorm_row(&s.x[r * H], &s.norm[r * H], L.mlp_norm, H, eps);
    });
    linear_rows(s.norm.data(), T, L.wi, packed(L.wi, p), s.inter.data(), s, pool,
                [&](size_t r) { glu_row(L, &s.inter[r * 2 * I], &s.tmp[r * I]); });
    linear_rows(s.tmp.data(), T, L.mlp_wo, packed(L.mlp_wo, p), s.ctx.data(), s, pool, residual_add_rows(s.x.data(), s.ctx.data(), L.mlp_wo.b, H));
  }
  pool.parallel_for(T, [&](size_t b, size_t e, size_t) {
    for (size_t r = b; r < e; ++r) layernorm_row(&s.x[r * H], &s.x[r * H], final_norm_, H, eps);
  });
}

void ModernBert::project_qkv(const Layer& L, bool local, size_t T, const std::vector<uint32_t>& pos, Precision p,
                             Scratch& s, ThreadPool& pool) const {
  const size_t H = static_cast<size_t>(info_.hidden_size);
  const float eps = info_.layer_norm_eps;
  const float* a = s.x.data();
  if (L.has_attn_norm) {
    pool.parallel_for(T, [&](size_t b, size_t e, size_t) {
      for (size_t r = b; r < e; ++r) layernorm_row(&s.x[r * H], &s.norm[r * H], L.attn_norm, H, eps);
    });
    a = s.norm.data();
  }
  linear_rows(a, T, L.wqkv, packed(L.wqkv, p), s.qkv.data(), s, pool, [&](size_t r) {
    if (L.wqkv.b) kernels::simd::bias_act_row(&s.qkv[r * 3 * H], L.wqkv.b, 3 * H, kernels::Act::None);
    rotate_row(&s.qkv[r * 3 * H], pos[r], local);
  });
}

// The last layer and the final norm for the first token of each sequence (classifier_pooling cls): norm, Q K V and
// rotary for all tokens (K and V are read), then attention, Wo, the MLP and the final norm on the n first-token rows
// gathered into s.first, written back to their rows of s.x (the others keep the layer before's states).
void ModernBert::layer_first_tokens(const Layer& L, bool local, const std::vector<Sequence>& seqs,
                                    const std::vector<uint32_t>& pos, Precision p, AttentionShape shape, Scratch& s,
                                    ThreadPool& pool) const {
  const size_t H = static_cast<size_t>(info_.hidden_size), I = static_cast<size_t>(info_.intermediate_size);
  const size_t T = s.offsets.back(), n = seqs.size();
  const float eps = info_.layer_norm_eps;
  project_qkv(L, local, T, pos, p, s, pool);
  s.first.resize(2 * n * H);
  float *xc = s.first.data(), *q = xc + n * H;
  for (size_t i = 0; i < n; ++i) {
    std::copy_n(&s.x[s.offsets[i] * H], H, xc + i * H);
    std::copy_n(&s.qkv[s.offsets[i] * 3 * H], H, q + i * H);
  }
  shape.window = local ? cfg_.window : 0;
  attention_first_token(seqs, shape, p != Precision::FP32, q, nullptr, H, s, pool);
  linear_rows(s.ctx.data(), n, L.wo, packed(L.wo, p), s.tmp.data(), s, pool, residual_add_rows(xc, s.tmp.data(), L.wo.b, H));
  for (size_t r = 0; r < n; ++r) layernorm_row(&xc[r * H], &s.norm[r * H], L.mlp_norm, H, eps);
  linear_rows(s.norm.data(), n, L.wi, packed(L.wi, p), s.inter.data(), s, pool,
              [&](size_t r) { glu_row(L, &s.inter[r * 2 * I], &s.tmp[r * I]); });
  linear_rows(s.tmp.data(), n, L.mlp_wo, packed(L.mlp_wo, p), s.ctx.data(), s, pool,
              residual_add_rows(xc, s.ctx.data(), L.mlp_wo.b, H));
  for (size_t i = 0; i < n; ++i) layernorm_row(xc + i * H, &s.x[s.offsets[i] * H], final_norm_, H, eps);
}

std::unique_ptr<Architecture> load_modernbert(const nlohmann::json& c, const std::filesystem::path& file,
                                              const ModelInfo& info, const TensorStore& store) {
  return std::make_unique<ModernBert>(c, file, info, store);
}

}  // namespace

extern const ArchitectureSpec kModernBertSpec = {"modernbert", configure_modernbert, load_modernbert};

}  // namespace rerank::model

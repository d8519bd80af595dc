// Qwen3 and Qwen2 decoder-only transformers (Qwen3ForCausalLM / Qwen3ForSequenceClassification / Qwen3Model and the
// Qwen2 classes), as transformers 5's modeling_qwen3.py / modeling_qwen2.py: token embeddings, pre-norm layers with
// RMSNorm, fused q/k/v projections (Qwen2: with biases; Qwen3: attention_bias, per-head q/k RMSNorm), rotary
// positions (rope_theta), grouped-query causal attention (num_key_value_heads), SwiGLU MLP (silu(gate) * up ->
// down), a final RMSNorm. Heads:
//   - ForCausalLM (a reranker such as Qwen3-Reranker): logit(yes) - logit(no) at the last position, from the two
//     lm_head rows only (tied: embed_tokens' rows); sentence-transformers' LogitScore, whose Sigmoid is P(yes);
//   - ForSequenceClassification: `score` (no bias) on the last token that is not pad_token_id (transformers'
//     rule for padded batches, applied to our unpadded ones);
//   - the base model: the last hidden states (sentence-transformers pools them, lasttoken for Qwen3-Embedding).
// Prefix sharing: consecutive sequences of a batch that start with the same tokens (the reranker's system prompt,
// instruction and query) run those tokens once; their keys and values are kept per layer and each sequence's own
// tokens attend to them. Exact under causal attention.
// Weights: the four matrices of a layer are built per precision on first use from the tensors as stored (a
// BF16 checkpoint run in bf16 is packed from its bf16 values with no fp32 copy kept; fp32 copies exist only when
// fp32 runs; int8 is weight-only: int8 weights with per-output-channel scales, bf16 activations), and the mapped
// pages they came from are released from resident memory.
#include <algorithm>
#include <cblas.h>
#include <cmath>
#include <cstring>
#include <functional>
#include <mutex>

#include "kernels/convert.hpp"
#include "kernels/matmul_w8.hpp"
#include "kernels/simd.hpp"
#include "model/config.hpp"
#include "model/layers.hpp"
#include "rerank/error.hpp"

namespace rerank::model {
namespace {

struct QwenConfig {
  bool qwen3 = true;
  int head_dim = 0, kv_heads = 0;
  bool qkv_bias = false, qk_norm = true, tied = false;
  double theta = 10000.0;
  int pad_id = -1;  // config.json's pad_token_id (-1: none)
};

[[noreturn]] void unsupported(const std::filesystem::path& file, const std::string& field, const std::string& why) {
  throw ModelError(file.string() + ": '" + field + "' " + why);
}

double read_theta(const nlohmann::json& c, const std::filesystem::path& file) {
  if (c.contains("rope_scaling") && !c["rope_scaling"].is_null()) {
    unsupported(file, "rope_scaling", "is not supported (only the default rotary embedding)");
  }
  double theta = config_number(c, file, "rope_theta", 10000.0);
  if (c.contains("rope_parameters") && !c["rope_parameters"].is_null()) {
    const auto& rp = c["rope_parameters"];
    if (!rp.is_object()) unsupported(file, "rope_parameters", "must be an object");
    const std::string type = config_string(rp, file, "rope_type", "default");
    if (type != "default") unsupported(file, "rope_parameters.rope_type", "= '" + type + "' is not supported (supported: default)");
    for (const auto& [k, v] : rp.items()) {
      if (k != "rope_type" && k != "rope_theta") unsupported(file, "rope_parameters." + k, "is not supported");
    }
    theta = config_number(rp, file, "rope_theta", theta);
  }
  if (!(theta > 0)) unsupported(file, "rope_theta", "must be > 0");
  return theta;
}

QwenConfig read_qwen(const nlohmann::json& c, const std::filesystem::path& file, const ModelInfo& info, bool qwen3) {
  QwenConfig q;
  q.qwen3 = qwen3;
  const std::string act = config_string(c, file, "hidden_act", "silu");
  if (act != "silu") unsupported(file, "hidden_act", "= '" + act + "' is not supported (silu)");
  if (config_bool(c, file, "use_sliding_window", false)) unsupported(file, "use_sliding_window", "= true is not supported");
  q.head_dim = qwen3 ? config_int(c, file, "head_dim", info.hidden_size / info.num_heads, false, 2, 4096)
                     : info.hidden_size / info.num_heads;
  if (q.head_dim % 2 != 0) unsupported(file, "head_dim", "must be even (rotary embedding)");
  q.kv_heads = config_int(c, file, "num_key_value_heads", info.num_heads, false, 1, info.num_heads);
  if (info.num_heads % q.kv_heads != 0) {
    unsupported(file, "num_key_value_heads", "= " + std::to_string(q.kv_heads) + " must divide num_attention_heads " +
                                                 std::to_string(info.num_heads));
  }
  q.qkv_bias = qwen3 ? config_bool(c, file, "attention_bias", false) : true;
  q.qk_norm = qwen3;
  q.tied = config_bool(c, file, "tie_word_embeddings", false);
  q.theta = read_theta(c, file);
  q.pad_id = config_int(c, file, "pad_token_id", -1, false, -1, info.vocab_size - 1);
  return q;
}

void configure_qwen(const nlohmann::json& c, const std::filesystem::path& file, ModelInfo& info, bool qwen3) {
  info.hidden_act = "silu";
  info.layer_norm_eps = static_cast<float>(config_number(c, file, "rms_norm_eps", 1e-6));
  info.type_vocab_size = 1;
  info.max_sequence_length = static_cast<size_t>(info.max_position_embeddings);
  (void)read_qwen(c, file, info, qwen3);  // every unsupported field is reported when the config is read
}

enum Mat { kQkv, kO, kGateUp, kDown, kMats };

// Weights of one rotary attention + SwiGLU layer.
struct Layer {
  const float* in_norm = nullptr;
  const float* post_norm = nullptr;
  const float* q_norm = nullptr;  // Qwen3: [head_dim]
  const float* k_norm = nullptr;
  Linear qkv;      // [(nh + 2 nkv) dh, H]: q, k, v rows
  Linear o;        // [H, nh dh]
  Linear gate_up;  // [2 I, H]: gate rows then up rows
  Linear down;     // [H, I]
  // the tensors each matrix is made of, as stored (row blocks of the fused ones), by Mat
  std::vector<const TensorInfo*> src[kMats];
  Linear& mat(int m) { return m == kQkv ? qkv : m == kO ? o : m == kGateUp ? gate_up : down; }
  const Linear& mat(int m) const { return const_cast<Layer*>(this)->mat(m); }
};

// One packed forward pass: sequences (token runs) with their first position and the keys/values they also attend to
// (a shared prefix's, kept from an earlier pass; none = nullptr).
struct Pass {
  std::vector<Sequence> seqs;
  std::vector<size_t> pos0;          // position of each sequence's first token
  std::vector<size_t> past_row;      // first row of its prefix in the cache
  std::vector<size_t> past_len;      // prefix tokens (0 = none)
  const float* cache = nullptr;      // [layers][rows][2 kvd]: K then V of every cached token
  size_t cache_rows = 0;
  float* store = nullptr;            // when set: this pass's K/V are written here ([layers][T][2 kvd])
};

void rms_row(const float* x, float* y, const float* w, size_t n, float eps) {
  double ss = 0.0;
  for (size_t k = 0; k < n; ++k) ss += static_cast<double>(x[k]) * x[k];
  const float inv = 1.0f / std::sqrt(static_cast<float>(ss / static_cast<double>(n)) + eps);
  for (size_t k = 0; k < n; ++k) y[k] = w[k] * (x[k] * inv);
}

class Qwen final : public Architecture {
 public:
  Qwen(const nlohmann::json& c, const std::filesystem::path& file, const ModelInfo& info, const TensorStore& store, bool qwen3);
  void encode(const std::vector<Sequence>& seqs, Precision p, Scratch& s, ThreadPool& pool) const override;
  void prepare(Precision p) const override;
  std::vector<Sequence> encode_shared(const std::vector<Sequence>& seqs, Precision p, Scratch& s,
                                      ThreadPool& pool) const override;
  void classify(const std::vector<Sequence>& seqs, const Scratch& s, float* logits) const override;

 private:
  void forward(const Pass& pass, Precision p, Scratch& s, ThreadPool& pool) const;
  // y[rows] = x[rows] W^T of matrix `m` of layer `li` in precision p, then epilogue(r) per row
  void linear(size_t li, int m, const float* x, size_t rows, float* y, Precision p, Scratch& s, ThreadPool& pool,
              const std::function<void(size_t)>& epilogue) const;
  // one chunk of `rows` rows of that product on one worker
  void gemm(size_t li, int m, const float* x, size_t rows, float* y, Precision p, Scratch& s, size_t worker) const;
  void mlp(size_t li, size_t T, Precision p, Scratch& s, ThreadPool& pool) const;
  void embed(const Pass& pass, Scratch& s, ThreadPool& pool) const;
  void rotate_and_norm(const Pass& pass, const Layer& L, Scratch& s, ThreadPool& pool) const;
  void attend(const Pass& pass, size_t layer, Scratch& s, ThreadPool& pool) const;
  size_t last_row(const Sequence& q) const;  // the row the head reads
  size_t kvd() const { return static_cast<size_t>(cfg_.kv_heads * cfg_.head_dim); }
  size_t qd() const { return static_cast<size_t>(info_.num_heads * cfg_.head_dim); }

  ModelInfo info_;
  QwenConfig cfg_;
  const TensorInfo* embed_ = nullptr;  // [V, H] as stored; rows converted on lookup
  const float* final_norm_ = nullptr;
  mutable std::vector<Layer> layers_;  // Linear::w set when the fp32 weights are built
  mutable std::mutex build_mu_;
  mutable bool built_[3] = {false, false, false};                      // by Precision
  mutable std::vector<std::vector<float>> f32_;                        // fp32 matrices that are copies
  mutable std::vector<std::unique_ptr<kernels::PackedLinear>> bf16_;   // [layer * kMats + m]
  mutable std::vector<std::unique_ptr<kernels::Int8WeightOnly>> int8_;
  std::vector<float> yes_no_;       // ForCausalLM: the lm_head rows of "yes" and "no" [2, H]
  Linear score_;                    // ForSequenceClassification
  std::vector<float> inv_freq_;     // [head_dim / 2]
};

Qwen::Qwen(const nlohmann::json& c, const std::filesystem::path& file, const ModelInfo& info, const TensorStore& store,
           bool qwen3)
    : info_(info), cfg_(read_qwen(c, file, info, qwen3)) {
  WeightLoader ld(store, {"model.", ""}, owned_);
  const int h = info.hidden_size, im = info.intermediate_size, dh = cfg_.head_dim;
  const int qd = info.num_heads * dh, kd = cfg_.kv_heads * dh;
  embed_ = &ld.require("embed_tokens.weight", {info.vocab_size, h});
  if (embed_->dtype != DType::F32 && embed_->dtype != DType::BF16 && embed_->dtype != DType::F16) {
    throw ModelError(embed_->file + ": tensor '" + embed_->name + "' has dtype " + embed_->dtype_name + " (F32, F16, BF16)");
  }
  layers_.resize(static_cast<size_t>(info.num_layers));
  // a matrix made of row blocks (q/k/v, gate/up): the tensors are checked and kept; only biases are converted now
  auto fuse = [&](std::vector<const TensorInfo*>& src, std::initializer_list<std::pair<std::string, int>> parts, int in,
                  bool bias) {
    int out = 0;
    for (const auto& pr : parts) out += pr.second;
    std::vector<float> b(bias ? static_cast<size_t>(out) : 0);
    size_t row = 0;
    for (const auto& [name, n] : parts) {
      const TensorInfo& t = ld.require(name + ".weight", {n, in});
      if (t.dtype != DType::F32 && t.dtype != DType::BF16 && t.dtype != DType::F16) {
        throw ModelError(t.file + ": tensor '" + t.name + "' has dtype " + t.dtype_name + " (F32, F16, BF16)");
      }
      src.push_back(&t);
      if (bias) {
        auto bi = TensorStore::to_f32(ld.require(name + ".bias", {n}));
        std::copy(bi.begin(), bi.end(), b.begin() + static_cast<ptrdiff_t>(row));
      }
      row += static_cast<size_t>(n);
    }
    Linear l{nullptr, nullptr, out, in};
    if (bias) {
      owned_.push_back(std::move(b));
      l.b = owned_.back().data();
    }
    return l;
  };
  for (int i = 0; i < info.num_layers; ++i) {
    const std::string p = "layers." + std::to_string(i);
    Layer& L = layers_[static_cast<size_t>(i)];
    L.in_norm = ld.f32(p + ".input_layernorm.weight", {h});
    L.post_norm = ld.f32(p + ".post_attention_layernorm.weight", {h});
    const std::string a = p + ".self_attn.";
    if (cfg_.qk_norm) {
      L.q_norm = ld.f32(a + "q_norm.weight", {dh});
      L.k_norm = ld.f32(a + "k_norm.weight", {dh});
    }
    L.qkv = fuse(L.src[kQkv], {{a + "q_proj", qd}, {a + "k_proj", kd}, {a + "v_proj", kd}}, h, cfg_.qkv_bias);
    L.o = fuse(L.src[kO], {{a + "o_proj", h}}, qd, cfg_.qwen3 && cfg_.qkv_bias);
    L.gate_up = fuse(L.src[kGateUp], {{p + ".mlp.gate_proj", im}, {p + ".mlp.up_proj", im}}, h, false);
    L.down = fuse(L.src[kDown], {{p + ".mlp.down_proj", h}}, im, false);
  }
  ld.check_no_layer("layers." + std::to_string(info.num_layers) + ".input_layernorm.weight", info.num_layers);
  final_norm_ = ld.f32("norm.weight", {h});
  if (info.causal_lm) {
    const TensorInfo* head = cfg_.tied ? embed_ : &ld.require("lm_head.weight", {info.vocab_size, h});
    for (int32_t id : {info.true_token_id, info.false_token_id}) {
      if (id < 0 || id >= info.vocab_size) throw ModelError(file.string() + ": the yes/no token ids are outside vocab_size");
      const size_t es = head->nbytes / static_cast<size_t>(head->numel());
      TensorInfo row = *head;
      row.shape = {h};
      row.data = head->data + static_cast<size_t>(id) * static_cast<size_t>(h) * es;
      row.nbytes = static_cast<size_t>(h) * es;
      auto v = TensorStore::to_f32(row);
      yes_no_.insert(yes_no_.end(), v.begin(), v.end());
    }
  } else if (info.has_classifier) {
    score_ = ld.linear("score", info.num_labels, h, false);
  }
  // rotary inverse frequencies in float32 as transformers computes them: 1 / theta^(2j / d)
  for (int j = 0; j < dh / 2; ++j) {
    inv_freq_.push_back(1.0f / std::pow(static_cast<float>(cfg_.theta), static_cast<float>(2 * j) / static_cast<float>(dh)));
  }
}

// The weights of precision p, built once from the stored tensors: fp32 matrices (in place for one aligned F32
// tensor, else a converted copy), packed bf16, or int8 weight-only. One fp32 matrix exists at a time while
// packing; the mapped pages read are released afterwards.
void Qwen::prepare(Precision p) const {
  std::lock_guard<std::mutex> lock(build_mu_);
  if (built_[static_cast<int>(p)]) return;
  if (p == Precision::BF16) bf16_.resize(layers_.size() * kMats);
  if (p == Precision::INT8) int8_.resize(layers_.size() * kMats);
  for (size_t li = 0; li < layers_.size(); ++li) {
    Layer& L = layers_[li];
    for (int m = 0; m < kMats; ++m) {
      Linear& l = L.mat(m);
      const auto& src = L.src[m];
      const TensorInfo& t0 = *src[0];
      if (p == Precision::FP32 && src.size() == 1 && t0.dtype == DType::F32 &&
          reinterpret_cast<uintptr_t>(t0.data) % alignof(float) == 0) {
        l.w = reinterpret_cast<const float*>(t0.data);
        continue;
      }
      std::vector<float> w;
      w.reserve(static_cast<size_t>(l.out) * static_cast<size_t>(l.in));
      for (const TensorInfo* t : src) {
        const auto v = TensorStore::to_f32(*t);
        w.insert(w.end(), v.begin(), v.end());
      }
      if (p == Precision::FP32) {
        f32_.push_back(std::move(w));
        l.w = f32_.back().data();
      } else if (p == Precision::BF16) {
        bf16_[li * kMats + static_cast<size_t>(m)] = std::make_unique<kernels::PackedLinear>(w.data(), l.out, l.in, p);
      } else {
        int8_[li * kMats + static_cast<size_t>(m)] = std::make_unique<kernels::Int8WeightOnly>(w.data(), l.out, l.in);
      }
      for (const TensorInfo* t : src) TensorStore::release_pages(*t);
    }
  }
  built_[static_cast<int>(p)] = true;
}

constexpr size_t kInt8Rows = 256;  // rows per int8 weight-only product: each widened weight block serves this many

size_t rows_per_chunk(Precision p) { return p == Precision::INT8 ? kInt8Rows : kRowChunk; }

void Qwen::gemm(size_t li, int m, const float* x, size_t rows, float* y, Precision p, Scratch& s, size_t worker) const {
  const Linear& l = layers_[li].mat(m);
  const size_t k = static_cast<size_t>(l.in), slot = li * kMats + static_cast<size_t>(m);
  if (p == Precision::FP32) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), l.out, l.in, 1.0f, x, l.in, l.w, l.in, 0.0f,
                y, l.out);
    return;
  }
  auto& buf = s.lowp[worker];
  buf.resize(rows * k * 2);
  auto* x16 = reinterpret_cast<uint16_t*>(buf.data());
  kernels::f32_to_bf16(x, x16, rows * k);
  if (p == Precision::BF16) {
    s.matmuls[worker].run(*bf16_[slot], x16, rows, y);
  } else {
    int8_[slot]->run(x16, rows, y, static_cast<size_t>(l.out));
  }
}

void Qwen::linear(size_t li, int m, const float* x, size_t rows, float* y, Precision p, Scratch& s, ThreadPool& pool,
                  const std::function<void(size_t)>& epilogue) const {
  const Linear& l = layers_[li].mat(m);
  const size_t k = static_cast<size_t>(l.in), n = static_cast<size_t>(l.out), chunk = rows_per_chunk(p);
  pool.parallel_for(
      rows,
      [&](size_t b, size_t e, size_t worker) {
        for (size_t c = b; c < e; c += chunk) {
          const size_t mr = std::min(chunk, e - c);
          gemm(li, m, x + c * k, mr, y + c * n, p, s, worker);
          for (size_t r = c; r < c + mr; ++r) epilogue(r);
        }
      },
      16);
}

// x += down(silu(gate) * up) of the normed rows s.norm, per worker and chunk of rows: the [rows, 2I] products never
// exist whole (long inputs), a chunk's intermediate stays in cache.
void Qwen::mlp(size_t li, size_t T, Precision p, Scratch& s, ThreadPool& pool) const {
  const size_t H = static_cast<size_t>(info_.hidden_size), I = static_cast<size_t>(info_.intermediate_size);
  const size_t chunk = rows_per_chunk(p);
  pool.parallel_for(
      T,
      [&](size_t b, size_t e, size_t worker) {
        auto& mid = s.chunk[worker];
        mid.resize(chunk * 3 * I);
        for (size_t c = b; c < e; c += chunk) {
          const size_t mr = std::min(chunk, e - c);
          float* gu = mid.data();
          float* act = gu + chunk * 2 * I;
          gemm(li, kGateUp, &s.norm[c * H], mr, gu, p, s, worker);
          for (size_t r = 0; r < mr; ++r) {
            const float* g = gu + r * 2 * I;
            const float* u = g + I;
            float* y = act + r * I;
            for (size_t k = 0; k < I; ++k) y[k] = g[k] / (1.0f + std::exp(-g[k])) * u[k];
          }
          float* out = &s.tmp[c * H];
          gemm(li, kDown, act, mr, out, p, s, worker);
          for (size_t r = 0; r < mr; ++r) {
            float* x = &s.x[(c + r) * H];
            for (size_t k = 0; k < H; ++k) x[k] += out[r * H + k];
          }
        }
      },
      16);
}

void Qwen::embed(const Pass& pass, Scratch& s, ThreadPool& pool) const {
  const size_t H = static_cast<size_t>(info_.hidden_size);
  pool.parallel_for(pass.seqs.size(), [&](size_t b, size_t e, size_t) {
    for (size_t i = b; i < e; ++i) {
      for (size_t t = 0; t < pass.seqs[i].len; ++t) {
        float* x = &s.x[(s.offsets[i] + t) * H];
        const size_t id = static_cast<size_t>(pass.seqs[i].ids[t]);
        if (embed_->dtype == DType::F32) {
          std::memcpy(x, embed_->data + id * H * 4, H * 4);
        } else {
          const auto* src = reinterpret_cast<const uint16_t*>(embed_->data) + id * H;  // 2-byte aligned in the mapping
          for (size_t k = 0; k < H; ++k) {
            uint16_t v;
            std::memcpy(&v, src + k, 2);
            x[k] = embed_->dtype == DType::BF16 ? bf16_to_f32(v) : f16_to_f32(v);
          }
        }
      }
    }
  });
}

// Qwen3's per-head q/k RMSNorm, then the rotary embedding (rotate_half convention) at each token's position.
void Qwen::rotate_and_norm(const Pass& pass, const Layer& L, Scratch& s, ThreadPool& pool) const {
  const size_t dh = static_cast<size_t>(cfg_.head_dim), half = dh / 2, nq = static_cast<size_t>(info_.num_heads);
  const size_t nk = static_cast<size_t>(cfg_.kv_heads), stride = qd() + 2 * kvd();
  const float eps = info_.layer_norm_eps;
  pool.parallel_for(pass.seqs.size(), [&](size_t b, size_t e, size_t) {
    std::vector<float> c(half), sn(half);
    for (size_t i = b; i < e; ++i) {
      for (size_t t = 0; t < pass.seqs[i].len; ++t) {
        // angle = float(position) * inv_freq in float32, cos/sin of it (transformers' default rotary embedding)
        const float pos = static_cast<float>(pass.pos0[i] + t);
        for (size_t j = 0; j < half; ++j) {
          const float a = pos * inv_freq_[j];
          c[j] = std::cos(a);
          sn[j] = std::sin(a);
        }
        float* row = &s.qkv[(s.offsets[i] + t) * stride];
        for (size_t hd = 0; hd < nq + nk; ++hd) {  // the q heads, then the k heads (v follows, untouched)
          float* v = row + hd * dh;
          const float* w = hd < nq ? L.q_norm : L.k_norm;
          if (w) rms_row(v, v, w, dh, eps);
          for (size_t j = 0; j < half; ++j) {
            const float x1 = v[j], x2 = v[j + half];
            v[j] = x1 * c[j] - x2 * sn[j];
            v[j + half] = x2 * c[j] + x1 * sn[j];
          }
        }
      }
    }
  });
}

constexpr size_t kQueryBlock = 256;  // query rows per block of scores

// Causal grouped-query attention per (sequence, query head, block of query rows): a query at own index r sees the
// sequence's cached prefix (past_len keys) and its own keys 0..r. fp32 OpenBLAS products around a softmax.
void Qwen::attend(const Pass& pass, size_t layer, Scratch& s, ThreadPool& pool) const {
  const size_t dh = static_cast<size_t>(cfg_.head_dim), nq = static_cast<size_t>(info_.num_heads);
  const size_t group = nq / static_cast<size_t>(cfg_.kv_heads), kd = kvd(), stride = qd() + 2 * kd;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  const auto& seqs = pass.seqs;
  std::vector<size_t> first(seqs.size() + 1, 0);
  for (size_t i = 0; i < seqs.size(); ++i) first[i + 1] = first[i] + nq * ((seqs[i].len + kQueryBlock - 1) / kQueryBlock);
  pool.parallel_for(first.back(), [&](size_t b, size_t e, size_t worker) {
    size_t i = static_cast<size_t>(std::upper_bound(first.begin(), first.end(), b) - first.begin()) - 1;
    for (size_t job = b; job < e; ++job) {
      while (job >= first[i + 1]) ++i;
      const size_t len = seqs[i].len, off = s.offsets[i], nb = (len + kQueryBlock - 1) / kQueryBlock;
      const size_t head = (job - first[i]) / nb, blk = (job - first[i]) % nb, kvh = head / group;
      const size_t r0 = blk * kQueryBlock, r1 = std::min(len, r0 + kQueryBlock), nr = r1 - r0;
      const size_t P = pass.past_len[i], nk = P + r1;
      auto& buf = s.scores[worker];
      if (buf.size() < nr * nk) buf.resize(nr * nk);
      float* S = buf.data();
      const float* q = &s.qkv[(off + r0) * stride + head * dh];
      const float* k = &s.qkv[off * stride + qd() + kvh * dh];
      const float* v = k + kd;
      const float* pk = P ? pass.cache + (layer * pass.cache_rows + pass.past_row[i]) * 2 * kd + kvh * dh : nullptr;
      const int ldq = static_cast<int>(stride), ldc = static_cast<int>(2 * kd), ldS = static_cast<int>(nk);
      if (P) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(nr), static_cast<int>(P), static_cast<int>(dh),
                    1.0f, q, ldq, pk, ldc, 0.0f, S, ldS);
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(nr), static_cast<int>(r1), static_cast<int>(dh),
                  1.0f, q, ldq, k, ldq, 0.0f, S + P, ldS);
      for (size_t r = r0; r < r1; ++r) {
        float* row = S + (r - r0) * nk;
        const size_t visible = P + r + 1;
        kernels::simd::softmax_row(row, visible, scale);
        std::fill(row + visible, row + nk, 0.0f);
      }
      float* out = &s.ctx[(off + r0) * qd() + head * dh];
      const int ldo = static_cast<int>(qd());
      if (P) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(nr), static_cast<int>(dh), static_cast<int>(P),
                    1.0f, S, ldS, pk + kd, ldc, 0.0f, out, ldo);
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(nr), static_cast<int>(dh), static_cast<int>(r1),
                  1.0f, S + P, ldS, v, ldq, P ? 1.0f : 0.0f, out, ldo);
    }
  });
}

void Qwen::forward(const Pass& pass, Precision p, Scratch& s, ThreadPool& pool) const {
  const size_t H = static_cast<size_t>(info_.hidden_size);
  prepare(p);
  const size_t T = prepare_batch(pass.seqs, info_.vocab_size, 0, info_.max_sequence_length, s, pool);
  const size_t stride = qd() + 2 * kvd(), kd = kvd();
  const float eps = info_.layer_norm_eps;
  s.x.resize(T * H);
  s.norm.resize(T * H);
  s.qkv.resize(T * stride);
  s.ctx.resize(T * qd());
  s.tmp.resize(T * H);
  embed(pass, s, pool);
  auto rms_all = [&](const float* w, float* dst) {
    pool.parallel_for(T, [&](size_t b, size_t e, size_t) {
      for (size_t r = b; r < e; ++r) rms_row(&s.x[r * H], dst + r * H, w, H, eps);
    });
  };
  for (size_t li = 0; li < layers_.size(); ++li) {
    const Layer& L = layers_[li];
    rms_all(L.in_norm, s.norm.data());
    linear(li, kQkv, s.norm.data(), T, s.qkv.data(), p, s, pool, [&](size_t r) {
      if (L.qkv.b) kernels::simd::bias_act_row(&s.qkv[r * stride], L.qkv.b, stride, kernels::Act::None);
    });
    rotate_and_norm(pass, L, s, pool);
    if (pass.store) {
      float* dst = pass.store + li * T * 2 * kd;
      for (size_t r = 0; r < T; ++r) std::memcpy(dst + r * 2 * kd, &s.qkv[r * stride + qd()], 2 * kd * sizeof(float));
      if (li + 1 == layers_.size()) return;  // a prefix pass needs only the keys and values
    }
    attend(pass, li, s, pool);
    linear(li, kO, s.ctx.data(), T, s.tmp.data(), p, s, pool, residual_add_rows(s.x.data(), s.tmp.data(), L.o.b, H));
    rms_all(L.post_norm, s.norm.data());
    mlp(li, T, p, s, pool);
  }
  pool.parallel_for(T, [&](size_t b, size_t e, size_t) {
    for (size_t r = b; r < e; ++r) rms_row(&s.x[r * H], &s.x[r * H], final_norm_, H, eps);
  });
}

void Qwen::encode(const std::vector<Sequence>& seqs, Precision p, Scratch& s, ThreadPool& pool) const {
  Pass pass;
  pass.seqs = seqs;
  pass.pos0.assign(seqs.size(), 0);
  pass.past_row.assign(seqs.size(), 0);
  pass.past_len.assign(seqs.size(), 0);
  forward(pass, p, s, pool);
}

size_t Qwen::last_row(const Sequence& q) const {
  if (cfg_.pad_id < 0 || info_.causal_lm || !info_.has_classifier) return q.len - 1;
  for (size_t t = q.len; t-- > 0;) {
    if (q.ids[t] != cfg_.pad_id) return t;
  }
  return 0;  // all padding: transformers' argmax of an all-zero mask
}

constexpr size_t kMinShared = 8;  // fewer shared tokens than this are not worth a separate pass
constexpr size_t kSlack = 4;      // a sequence joins a group when it shrinks the group's prefix by at most this

// Groups of consecutive sequences sharing >= kMinShared leading tokens (the first two fix the prefix; a later one
// joins when it shares all but at most kSlack of it, so one query's candidates form one group even when two of
// them happen to start alike, and the next query starts its own): the shared tokens run once (keys and values
// kept per layer), then every sequence's remaining tokens run against them. Returns the remaining parts, whose
// hidden states are in s.x.
std::vector<Sequence> Qwen::encode_shared(const std::vector<Sequence>& seqs, Precision p, Scratch& s, ThreadPool& pool) const {
  for (const Sequence& q : seqs) {
    if (q.len == 0 || q.len > info_.max_sequence_length) {  // the unshared pass reports it
      encode(seqs, p, s, pool);
      return seqs;
    }
  }
  std::vector<size_t> shared(seqs.size(), 0), group_of(seqs.size(), SIZE_MAX);
  Pass prefix, rest;
  auto lcp = [&](size_t a, size_t b, size_t cap) {  // shared leading ids of a and b, at most cap
    const size_t n = std::min({cap, seqs[b].len - 1, last_row(seqs[b])});
    size_t l = 0;
    while (l < n && seqs[b].ids[l] == seqs[a].ids[l]) ++l;
    return l;
  };
  for (size_t i = 0; i < seqs.size();) {
    size_t P = std::min(seqs[i].len - 1, last_row(seqs[i])), j = i + 1;
    // a lone sequence before a group that shares more (the last candidate of the previous query) stays alone
    if (i + 2 < seqs.size() && lcp(i + 1, i + 2, std::min(seqs[i + 1].len - 1, last_row(seqs[i + 1]))) > lcp(i, i + 1, P) + kSlack) {
      ++i;
      continue;
    }
    for (; j < seqs.size(); ++j) {
      const size_t l = lcp(i, j, P);
      if (l < kMinShared || (j > i + 1 && l + kSlack < P)) break;
      P = l;
    }
    if (j - i >= 2) {
      for (size_t k = i; k < j; ++k) {
        shared[k] = P;
        group_of[k] = prefix.seqs.size();
      }
      prefix.seqs.push_back({seqs[i].ids, seqs[i].type_ids, P});
    }
    i = j;
  }
  if (prefix.seqs.empty()) {
    encode(seqs, p, s, pool);
    return seqs;
  }
  size_t rows = 0;
  for (const Sequence& q : prefix.seqs) rows += q.len;
  prefix.pos0.assign(prefix.seqs.size(), 0);
  prefix.past_row.assign(prefix.seqs.size(), 0);
  prefix.past_len.assign(prefix.seqs.size(), 0);
  s.kv.resize(layers_.size() * rows * 2 * kvd());
  prefix.store = s.kv.data();
  forward(prefix, p, s, pool);
  const std::vector<size_t> prefix_offsets = s.offsets;
  rest.cache = s.kv.data();
  rest.cache_rows = rows;
  for (size_t i = 0; i < seqs.size(); ++i) {
    const size_t P = shared[i];
    rest.seqs.push_back({seqs[i].ids + P, seqs[i].type_ids + P, seqs[i].len - P});
    rest.pos0.push_back(P);
    rest.past_len.push_back(P);
    rest.past_row.push_back(P ? prefix_offsets[group_of[i]] : 0);
  }
  forward(rest, p, s, pool);
  return rest.seqs;
}

void Qwen::classify(const std::vector<Sequence>& seqs, const Scratch& s, float* logits) const {
  if (!info_.has_classifier) throw ModelError(info_.directory.string() + ": the model has no classification head");
  const size_t H = static_cast<size_t>(info_.hidden_size), nl = static_cast<size_t>(info_.num_labels);
  for (size_t i = 0; i < seqs.size(); ++i) {
    const float* x = &s.x[(s.offsets[i] + last_row(seqs[i])) * H];
    if (info_.causal_lm) {  // logit(yes) - logit(no): sentence-transformers' LogitScore
      double yes = 0.0, no = 0.0;
      for (size_t k = 0; k < H; ++k) {
        yes += static_cast<double>(yes_no_[k]) * x[k];
        no += static_cast<double>(yes_no_[H + k]) * x[k];
      }
      logits[i] = static_cast<float>(yes - no);
      continue;
    }
    for (size_t o = 0; o < nl; ++o) {
      double acc = 0.0;
      for (size_t k = 0; k < H; ++k) acc += static_cast<double>(score_.w[o * H + k]) * x[k];
      logits[i * nl + o] = static_cast<float>(acc);
    }
  }
}

void configure_qwen3(const nlohmann::json& c, const std::filesystem::path& file, ModelInfo& info) {
  configure_qwen(c, file, info, true);
}
void configure_qwen2(const nlohmann::json& c, const std::filesystem::path& file, ModelInfo& info) {
  configure_qwen(c, file, info, false);
}
std::unique_ptr<Architecture> load_qwen3(const nlohmann::json& c, const std::filesystem::path& file, const ModelInfo& info,
                                         const TensorStore& store) {
  return std::make_unique<Qwen>(c, file, info, store, true);
}
std::unique_ptr<Architecture> load_qwen2(const nlohmann::json& c, const std::filesystem::path& file, const ModelInfo& info,
                                         const TensorStore& store) {
  return std::make_unique<Qwen>(c, file, info, store, false);
}

}  // namespace

extern const ArchitectureSpec kQwen3Spec = {"qwen3", configure_qwen3, load_qwen3, true};
extern const ArchitectureSpec kQwen2Spec = {"qwen2", configure_qwen2, load_qwen2, true};

}  // namespace rerank::model

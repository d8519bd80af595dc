// The architectures the engine runs, by config.json's model_type. Adding one: a file under src/model/ defining
// its configure/load functions, and a line here.
#include <algorithm>
#include <cmath>

#include "model/architecture.hpp"

#include "model/layers.hpp"
#include "rerank/error.hpp"
#include "util/files.hpp"

namespace rerank::model {

// defined in bert.cpp, roberta.cpp, electra.cpp, modernbert.cpp, qwen.cpp
extern const ArchitectureSpec kBertSpec, kRobertaSpec, kXlmRobertaSpec, kElectraSpec, kModernBertSpec, kQwen2Spec,
    kQwen3Spec;

namespace {
const ArchitectureSpec* const kRegistry[] = {&kBertSpec, &kRobertaSpec, &kXlmRobertaSpec, &kElectraSpec, &kModernBertSpec,
                                            &kQwen2Spec, &kQwen3Spec};
}  // namespace

Architecture::~Architecture() = default;

void Architecture::register_linear(Linear& l) {
  l.slot = static_cast<int>(linears_.size());
  linears_.push_back(&l);
  linear_bytes_ += static_cast<size_t>(l.out) * static_cast<size_t>(l.in) * sizeof(float);
}

// One mutex per precision, held while that precision's packs are built (once) and on each lookup. INT8's build
// first calibrates its SmoothQuant factors by an fp32 encode, which looks up the FP32 packs: that takes FP32's
// mutex, never INT8's, so the calibration runs outside the mutex it needs, once, and blocks only INT8 lookups.
const Architecture::Packs* Architecture::packs(Precision p) const {
  if (p == Precision::FP32 && linear_bytes_ > kPackFp32MaxBytes) return nullptr;
  PackSlot& slot = packs_[static_cast<int>(p)];
  std::lock_guard<std::mutex> lock(slot.mu);
  if (!slot.packs) slot.packs = build_packs(p);
  return slot.packs.get();
}

std::unique_ptr<Architecture::Packs> Architecture::build_packs(Precision p) const {
  std::vector<std::vector<float>> smooth;
  std::vector<std::vector<int>> outliers;
  if (p == Precision::INT8) smooth = smoothing_factors(&outliers);
  auto v = std::make_unique<Packs>();
  for (size_t i = 0; i < linears_.size(); ++i) {
    const Linear* l = linears_[i];
    // INT8 keeps the products the architecture marked as ranking-sensitive in bf16
    const Precision lp = p == Precision::INT8 && !l->int8 ? Precision::BF16 : p;
    // a slot that is rows of another linear takes that one's calibration (smoothing factors and outlier channels)
    const size_t si = l->smooth_slot >= 0 ? static_cast<size_t>(l->smooth_slot) : i;
    const float* sm = lp == Precision::INT8 && l->smooth && si < smooth.size() && !smooth[si].empty() ? smooth[si].data() : nullptr;
    const std::vector<int>* out = lp == Precision::INT8 && si < outliers.size() && !outliers[si].empty() ? &outliers[si] : nullptr;
    v->push_back(std::make_unique<kernels::PackedLinear>(l->w, l->out, l->in, lp, sm, out));
  }
  return v;
}

namespace {

// LLM.int8() (Dettmers et al. 2022)-style outlier channels: those whose calibrated max |x| exceeds `ratio` x the
// median channel's, largest first, at most `limit`.
std::vector<int> outlier_channels(const std::vector<float>& amax, float ratio, int limit) {
  std::vector<float> sorted = amax;
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(sorted.size() / 2), sorted.end());
  const float median = sorted[sorted.size() / 2];
  std::vector<int> idx;
  for (size_t j = 0; j < amax.size(); ++j) {
    if (amax[j] > ratio * median) idx.push_back(static_cast<int>(j));
  }
  std::sort(idx.begin(), idx.end(), [&](int a, int b) { return amax[static_cast<size_t>(a)] > amax[static_cast<size_t>(b)]; });
  if (idx.size() > static_cast<size_t>(limit)) idx.resize(static_cast<size_t>(limit));
  return idx;
}

}  // namespace

// SmoothQuant (Xiao et al. 2023), alpha = 1/2: s_j = sqrt(max|x_j| / max_o |W_oj|) per input channel j, so that
// x / s and W s share the channel's range. max|x_j| comes from an fp32 encode of two fixed pseudo-random sequences
// (ids from the upper 97% of the vocabulary, 128 tokens, type ids 0 then 1): the outlier channels of BERT-family
// encoders (e.g. all-MiniLM-L6-v2's channel 99, ~6x the median channel) are properties of the weights and show
// on any input. Deterministic: the same weights always give the same factors.
std::vector<std::vector<float>> Architecture::smoothing_factors(std::vector<std::vector<int>>* outliers) const {
  if (calibration_vocab_ <= 0) return {};
  constexpr size_t kLen = 128;
  std::vector<int32_t> ids(2 * kLen), types(2 * kLen);
  uint32_t state = 12345u;
  const int lo = calibration_vocab_ / 32;
  for (size_t i = 0; i < ids.size(); ++i) {
    state = state * 1664525u + 1013904223u;
    ids[i] = lo + static_cast<int32_t>((state >> 8) % static_cast<uint32_t>(calibration_vocab_ - lo));
    types[i] = (i % kLen) < kLen / 2 ? 0 : 1;
  }
  std::vector<Sequence> seqs = {{ids.data(), types.data(), kLen}, {ids.data() + kLen, types.data() + kLen, kLen}};
  std::vector<std::vector<float>> amax(linears_.size());
  Scratch s;
  s.calib = &amax;
  ThreadPool pool(1);
  encode(seqs, Precision::FP32, s, pool);
  std::vector<std::vector<float>> out(linears_.size());
  outliers->assign(linears_.size(), {});
  for (size_t i = 0; i < linears_.size(); ++i) {
    const Linear& l = *linears_[i];
    if (amax[i].size() != static_cast<size_t>(l.in)) continue;
    if (l.outlier_ratio > 0.0f && l.max_outliers > 0) (*outliers)[i] = outlier_channels(amax[i], l.outlier_ratio, l.max_outliers);
    auto& f = out[i];
    f.assign(static_cast<size_t>(l.in), 1.0f);
    for (int j = 0; j < l.in; ++j) {
      float wmax = 0.0f;
      for (int o = 0; o < l.out; ++o) wmax = std::max(wmax, std::fabs(l.w[static_cast<size_t>(o) * l.in + j]));
      const float a = std::max(amax[i][j], 1e-5f);
      f[j] = wmax > 0.0f ? std::sqrt(a / std::max(wmax, 1e-5f)) : 1.0f;
    }
  }
  return out;
}

const kernels::PackedLinear* Architecture::packed(const Linear& l, Precision p) const {
  if (l.slot < 0) return nullptr;
  const auto* v = packs(p);
  return v ? (*v)[static_cast<size_t>(l.slot)].get() : nullptr;
}

std::string supported_model_types() {
  std::string s;
  for (const ArchitectureSpec* a : kRegistry) s += (s.empty() ? "" : ", ") + std::string(a->model_type);
  return s;
}

const ArchitectureSpec& find_architecture(const std::string& model_type, const std::filesystem::path& file) {
  for (const ArchitectureSpec* a : kRegistry) {
    if (model_type == a->model_type) return *a;
  }
  throw ModelError(file.string() + ": model_type '" + model_type + "' is not supported (supported: " +
                   supported_model_types() + ")");
}

std::unique_ptr<Architecture> load_architecture(const ModelInfo& info, const TensorStore& store) {
  const auto file = info.directory / "config.json";
  nlohmann::json config = util::read_json(file);
  return find_architecture(info.model_type, file).load(config, file, info, store);
}

}  // namespace rerank::model

// The architectures the engine runs, by config.json's model_type. Adding one: a file under src/model/ defining
// its configure/load functions, and a line here.
#include <algorithm>

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
}

bool Architecture::packs_fp32() const {
  size_t floats = 0;
  for (const Linear* l : linears_) floats += static_cast<size_t>(l->out) * static_cast<size_t>(l->in);
  return floats * sizeof(float) <= kPackFp32MaxBytes;
}

const std::vector<std::unique_ptr<kernels::PackedLinear>>* Architecture::packs(Precision p) const {
  if (p == Precision::FP32 && !packs_fp32()) return nullptr;
  std::lock_guard<std::mutex> lock(pack_mu_);
  auto& slot = packs_[static_cast<int>(p)];
  if (!slot) {
    auto v = std::make_unique<std::vector<std::unique_ptr<kernels::PackedLinear>>>();
    for (const Linear* l : linears_) v->push_back(std::make_unique<kernels::PackedLinear>(l->w, l->out, l->in, p));
    slot = std::move(v);
  }
  return slot.get();
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

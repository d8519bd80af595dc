#include <cblas.h>

#include <mutex>

#include "api/model_impl.hpp"
#include "model/config.hpp"
#include "rerank/error.hpp"

namespace rerank {

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;
const ModelInfo& Model::info() const { return impl_->info; }
const Tokenizer& Model::tokenizer() const { return impl_->tokenizer; }

std::shared_ptr<const Model> Model::load(const std::filesystem::path& dir) {
  ModelInfo info = model::read_model_info(dir);
  Tokenizer tok = Tokenizer::from_directory(dir);
  model::TensorStore store = model::TensorStore::open_directory(dir);
  auto impl = std::unique_ptr<Impl>(new Impl{std::move(info), std::move(tok), std::move(store), {}, {}, {}});
  impl->weights = model::load_bert_weights(impl->store, impl->info);
  std::string dtype;
  for (const auto& [name, t] : impl->store.all()) {
    if (t.dtype == model::DType::F32 || t.dtype == model::DType::F16 || t.dtype == model::DType::BF16) {
      if (dtype.empty() || t.numel() > 1000) dtype = t.dtype_name;
      if (t.name.find("word_embeddings") != std::string::npos) break;
    }
  }
  impl->info.weights_dtype = dtype;
  return std::shared_ptr<const Model>(new Model(std::move(impl)));
}

const model::PackedBert* Model::Impl::packed(Precision p) const {
  if (p == Precision::FP32) return nullptr;
  std::lock_guard<std::mutex> lock(pack_mu_);
  auto& slot = packed_[static_cast<int>(p)];
  if (!slot) slot = model::pack_bert(weights, p);
  return slot.get();
}

Session::Session(std::shared_ptr<const Model> model, const EngineOptions& options)
    : model_(std::move(model)), precision_(options.precision) {
  packed_ = model_->impl().packed(precision_);
  // The engine parallelises across its own pool; each BLAS call runs single-threaded inside one worker.
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
  pool_ = options.pool ? options.pool : std::make_shared<ThreadPool>(options.threads);
}

size_t Session::resolve_max_length(size_t requested, bool pair) const {
  const ModelInfo& info = model_->info();
  size_t n = requested ? requested : info.max_length;
  if (n > static_cast<size_t>(info.max_position_embeddings)) {
    throw InputError("max_length " + std::to_string(n) + " exceeds the model's max_position_embeddings (" +
                     std::to_string(info.max_position_embeddings) + ")");
  }
  const size_t specials = model_->tokenizer().num_special_tokens(pair);
  if (n <= specials) {
    throw InputError("max_length " + std::to_string(n) + " leaves no room for text after the " + std::to_string(specials) +
                     " special tokens");
  }
  return n;
}

std::vector<Encoding> Session::tokenize(const std::vector<std::string_view>& a, const std::vector<std::string_view>* b,
                                        size_t max_length) {
  std::vector<Encoding> out(a.size());
  const Tokenizer& tok = model_->tokenizer();
  pool_->parallel_for(
      a.size(),
      [&](size_t begin, size_t end, size_t) {
        for (size_t i = begin; i < end; ++i) out[i] = b ? tok.encode_pair(a[i], (*b)[i], max_length) : tok.encode(a[i], max_length);
      },
      4);
  return out;
}

std::vector<model::Sequence> Session::encode(const std::vector<Encoding>& encodings, size_t begin, size_t end) {
  std::vector<model::Sequence> seqs;
  seqs.reserve(end - begin);
  for (size_t i = begin; i < end; ++i) {
    seqs.push_back({encodings[i].ids.data(), encodings[i].type_ids.data(), encodings[i].ids.size()});
  }
  model::bert_encode(model_->info(), model_->impl().weights, packed_, seqs, scratch_, *pool_);
  return seqs;
}

}  // namespace rerank

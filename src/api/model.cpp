#include <cblas.h>

#include <mutex>

#include "api/model_impl.hpp"
#include "model/config.hpp"
#include "model/heads.hpp"
#include "rerank/error.hpp"

namespace rerank {

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;
const ModelInfo& Model::info() const { return impl_->info; }
const Tokenizer& Model::tokenizer() const { return impl_->tokenizer; }

std::shared_ptr<const Model> Model::load(const std::filesystem::path& dir) {
  ModelInfo info = model::read_model_info(dir);
  Tokenizer tok = Tokenizer::from_directory(dir);
  if (info.causal_lm) {  // sentence-transformers' LogitScore default: the tokens "yes" and "no"
    info.true_token_id = tok.token_to_id("yes");
    info.false_token_id = tok.token_to_id("no");
    if (info.true_token_id < 0 || info.false_token_id < 0) {
      throw ModelError((dir / "tokenizer.json").string() + ": the tokenizer has no 'yes' and/or 'no' token, which a " +
                       info.architecture + " reranker is scored with");
    }
  }
  model::TensorStore store = model::TensorStore::open_directory(dir);
  auto impl = std::unique_ptr<Impl>(new Impl{std::move(info), std::move(tok), std::move(store), {}});
  impl->arch = model::load_architecture(impl->info, impl->store);
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

Session::Session(std::shared_ptr<const Model> model, const EngineOptions& options)
    : model_(std::move(model)), precision_(options.precision), prefix_sharing(options.prefix_sharing) {
  model_->impl().arch->prepare(precision_);
  // The engine parallelises across its own pool; each BLAS call runs single-threaded inside one worker.
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
  pool_ = options.pool ? options.pool : std::make_shared<ThreadPool>(options.threads);
}

size_t Session::resolve_max_length(size_t requested, bool pair) const {
  const ModelInfo& info = model_->info();
  size_t n = requested ? requested : info.max_length;
  if (n > info.max_sequence_length) {
    throw InputError("max_length " + std::to_string(n) + " exceeds the " + std::to_string(info.max_sequence_length) +
                     " positions of the model (config.json max_position_embeddings " +
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
                                        size_t max_length, const std::string* prompt_override) {
  std::vector<Encoding> out(a.size());
  const Tokenizer& tok = model_->tokenizer();
  // sentence-transformers' default prompt goes before the single text, or the first text of a pair
  const std::string& prompt = prompt_override ? *prompt_override : model_->info().default_prompt;
  std::vector<std::string> prompted;
  std::vector<std::string_view> pa;
  if (!prompt.empty()) {
    prompted.reserve(a.size());
    for (std::string_view t : a) prompted.push_back(prompt + std::string(t));
    pa.assign(prompted.begin(), prompted.end());
  }
  const std::vector<std::string_view>& first = prompt.empty() ? a : pa;
  pool_->parallel_for(
      a.size(),
      [&](size_t begin, size_t end, size_t) {
        for (size_t i = begin; i < end; ++i) {
          out[i] = b ? tok.encode_pair(first[i], (*b)[i], max_length) : tok.encode(first[i], max_length);
        }
      },
      4);
  return out;
}

std::vector<model::Sequence> Session::encode(const std::vector<Encoding>& encodings, size_t begin, size_t end, bool share,
                                             bool head_only) {
  scratch_.first_token_only = head_only;
  std::vector<model::Sequence> seqs;
  seqs.reserve(end - begin);
  for (size_t i = begin; i < end; ++i) {
    seqs.push_back({encodings[i].ids.data(), encodings[i].type_ids.data(), encodings[i].ids.size()});
  }
  if (share && prefix_sharing && seqs.size() > 1) return model_->impl().arch->encode_shared(seqs, precision_, scratch_, *pool_);
  model_->impl().arch->encode(seqs, precision_, scratch_, *pool_);
  return seqs;
}

std::vector<model::Sequence> Session::encode(const std::vector<const Encoding*>& encodings) {
  std::vector<model::Sequence> seqs;
  seqs.reserve(encodings.size());
  for (const Encoding* e : encodings) seqs.push_back({e->ids.data(), e->type_ids.data(), e->ids.size()});
  scratch_.first_token_only = false;
  model_->impl().arch->encode(seqs, precision_, scratch_, *pool_);
  return seqs;
}

void Session::classify(const std::vector<model::Sequence>& seqs, float* logits) const {
  model_->impl().arch->classify(seqs, scratch_, logits);
}

void Session::pool(const std::vector<model::Sequence>& seqs, float* out) const {
  model::pool(model_->info(), seqs, scratch_, out);
}

}  // namespace rerank

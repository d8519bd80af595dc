#include "rerank/bi_encoder.hpp"

#include <algorithm>

#include "api/model_impl.hpp"
#include "rerank/error.hpp"

namespace rerank {

BiEncoder::BiEncoder(std::shared_ptr<const Model> model, EngineOptions options)
    : model_(std::move(model)), session_(std::make_unique<Session>(model_, options)),
      batch_size_(std::max<size_t>(1, options.batch_size)) {}
BiEncoder::~BiEncoder() = default;
BiEncoder::BiEncoder(BiEncoder&&) noexcept = default;

size_t BiEncoder::dimension() const { return static_cast<size_t>(model_->info().embedding_dim()); }

std::vector<std::vector<float>> BiEncoder::encode(const std::vector<std::string>& texts, const EncodeOptions& options,
                                                  std::vector<Encoding>* encodings) {
  const size_t max_length = session_->resolve_max_length(options.max_length, false);
  std::vector<std::string_view> a(texts.begin(), texts.end());
  const std::string* prompt = nullptr;
  if (!options.prompt_name.empty()) {
    const auto& prompts = model_->info().prompts;
    auto it = prompts.find(options.prompt_name);
    if (it == prompts.end()) {
      std::string names;
      for (const auto& [n, t] : prompts) names += (names.empty() ? "" : ", ") + n;
      throw InputError("prompt name '" + options.prompt_name + "' is not among the model's prompts (" +
                       (names.empty() ? "none" : names) + ")");
    }
    prompt = &it->second;
  }
  std::vector<Encoding> encs = session_->tokenize(a, nullptr, max_length, prompt);
  auto out = encode_encoded(encs);
  if (encodings) *encodings = std::move(encs);
  return out;
}

std::vector<std::vector<float>> BiEncoder::encode_encoded(const std::vector<Encoding>& encodings) {
  const size_t dim = dimension();
  std::vector<std::vector<float>> out(encodings.size());
  std::vector<float> buf;
  for (size_t begin = 0; begin < encodings.size(); begin += batch_size_) {
    const size_t end = std::min(encodings.size(), begin + batch_size_);
    auto seqs = session_->encode(encodings, begin, end);
    buf.resize(seqs.size() * dim);
    session_->pool(seqs, buf.data());
    for (size_t i = begin; i < end; ++i) out[i].assign(buf.begin() + (i - begin) * dim, buf.begin() + (i - begin + 1) * dim);
  }
  return out;
}

}  // namespace rerank

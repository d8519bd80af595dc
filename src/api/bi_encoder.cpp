#include "rerank/bi_encoder.hpp"

#include <algorithm>
#include <numeric>

#include "api/model_impl.hpp"
#include "rerank/error.hpp"

namespace rerank {

BiEncoder::BiEncoder(std::shared_ptr<const Model> model, EngineOptions options)
    : model_(std::move(model)), session_(std::make_unique<Session>(model_, options)),
      batch_size_(std::max<size_t>(1, options.batch_size)) {}
BiEncoder::~BiEncoder() = default;
BiEncoder::BiEncoder(BiEncoder&&) noexcept = default;

size_t BiEncoder::dimension() const { return static_cast<size_t>(model_->info().embedding_dim()); }

const std::string* BiEncoder::prompt(const EncodeOptions& options) const {
  if (options.prompt_name.empty()) return nullptr;
  const auto& prompts = model_->info().prompts;
  auto it = prompts.find(options.prompt_name);
  if (it == prompts.end()) {
    std::string names;
    for (const auto& [n, t] : prompts) names += (names.empty() ? "" : ", ") + n;
    throw InputError("prompt name '" + options.prompt_name + "' is not among the model's prompts (" +
                     (names.empty() ? "none" : names) + ")");
  }
  return &it->second;
}

std::vector<std::vector<float>> BiEncoder::encode(const std::vector<std::string>& texts, const EncodeOptions& options,
                                                  std::vector<Encoding>* encodings) {
  const size_t max_length = session_->resolve_max_length(options.max_length, false);
  std::vector<std::string_view> a(texts.begin(), texts.end());
  std::vector<Encoding> encs = session_->tokenize(a, nullptr, max_length, prompt(options));
  auto out = encode_encoded(encs);
  if (encodings) *encodings = std::move(encs);
  return out;
}

std::vector<Encoding> BiEncoder::tokenize(const std::vector<std::string>& texts, const EncodeOptions& options) const {
  // as Session::tokenize, on this thread only (the session's pool belongs to the encoding thread)
  const size_t max_length = session_->resolve_max_length(options.max_length, false);
  const std::string* p = prompt(options);
  const std::string& pre = p ? *p : model_->info().default_prompt;
  const Tokenizer& tok = model_->tokenizer();
  std::vector<Encoding> out;
  out.reserve(texts.size());
  for (const auto& t : texts) out.push_back(pre.empty() ? tok.encode(t, max_length) : tok.encode(pre + t, max_length));
  return out;
}

std::vector<std::vector<float>> BiEncoder::encode_encoded(const std::vector<Encoding>& encodings) {
  const size_t dim = dimension();
  std::vector<std::vector<float>> out(encodings.size());
  // longest first, ties in input order (sentence-transformers sorts so too): batches of similar lengths
  std::vector<size_t> order(encodings.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t x, size_t y) { return encodings[x].ids.size() > encodings[y].ids.size(); });
  std::vector<const Encoding*> batch;
  std::vector<float> buf;
  for (size_t begin = 0; begin < order.size(); begin += batch_size_) {
    const size_t end = std::min(order.size(), begin + batch_size_);
    batch.clear();
    for (size_t i = begin; i < end; ++i) batch.push_back(&encodings[order[i]]);
    auto seqs = session_->encode(batch);
    buf.resize(seqs.size() * dim);
    session_->pool(seqs, buf.data());
    for (size_t i = begin; i < end; ++i) out[order[i]].assign(buf.begin() + (i - begin) * dim, buf.begin() + (i - begin + 1) * dim);
  }
  return out;
}

}  // namespace rerank

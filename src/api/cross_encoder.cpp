#include "rerank/cross_encoder.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "api/model_impl.hpp"
#include "rerank/error.hpp"

namespace rerank {
namespace {

void activate(Activation a, const std::vector<float>& logits, std::vector<float>& scores) {
  scores.resize(logits.size());
  switch (a) {
    case Activation::Identity:
      scores = logits;
      break;
    case Activation::Sigmoid:
      for (size_t i = 0; i < logits.size(); ++i) scores[i] = 1.0f / (1.0f + std::exp(-logits[i]));
      break;
    case Activation::Tanh:
      for (size_t i = 0; i < logits.size(); ++i) scores[i] = std::tanh(logits[i]);
      break;
    case Activation::Softmax: {
      float mx = *std::max_element(logits.begin(), logits.end());
      double sum = 0.0;
      for (size_t i = 0; i < logits.size(); ++i) sum += std::exp(static_cast<double>(logits[i] - mx));
      for (size_t i = 0; i < logits.size(); ++i) scores[i] = static_cast<float>(std::exp(static_cast<double>(logits[i] - mx)) / sum);
      break;
    }
  }
}

}  // namespace

CrossEncoder::CrossEncoder(std::shared_ptr<const Model> model, EngineOptions options)
    : model_(std::move(model)), batch_size_(std::max<size_t>(1, options.batch_size)) {
  if (!model_->info().has_classifier) {
    throw ModelError(model_->info().directory.string() + ": config.json's architecture '" + model_->info().architecture +
                     "' has no sequence-classification head; a cross-encoder needs *ForSequenceClassification");
  }
  session_ = std::make_unique<Session>(model_, options);
}
CrossEncoder::~CrossEncoder() = default;
CrossEncoder::CrossEncoder(CrossEncoder&&) noexcept = default;

std::vector<Prediction> CrossEncoder::predict(const std::vector<std::pair<std::string, std::string>>& pairs,
                                              const PredictOptions& options) {
  const size_t max_length = session_->resolve_max_length(options.max_length, true);
  if (uses_reranker_template(*model_, options)) {
    std::vector<Encoding> enc(pairs.size());
    session_->pool().parallel_for(
        pairs.size(),
        [&](size_t begin, size_t end, size_t) {
          for (size_t i = begin; i < end; ++i) enc[i] = encode_scored_pair(*model_, pairs[i].first, pairs[i].second, options, max_length);
        },
        4);
    return predict_encoded(std::move(enc));
  }
  std::vector<std::string_view> a, b;
  a.reserve(pairs.size());
  b.reserve(pairs.size());
  for (const auto& p : pairs) {
    a.emplace_back(p.first);
    b.emplace_back(p.second);
  }
  return predict_encoded(session_->tokenize(a, &b, max_length));
}

std::vector<Prediction> CrossEncoder::predict_encoded(std::vector<Encoding> encodings) {
  const ModelInfo& info = model_->info();
  const size_t nl = static_cast<size_t>(info.num_labels);
  std::vector<Prediction> out(encodings.size());
  std::vector<float> logits;
  for (size_t begin = 0; begin < encodings.size(); begin += batch_size_) {
    const size_t end = std::min(encodings.size(), begin + batch_size_);
    auto seqs = session_->encode(encodings, begin, end, /*share=*/true, /*head_only=*/true);
    logits.resize(seqs.size() * nl);
    session_->classify(seqs, logits.data());
    for (size_t i = begin; i < end; ++i) {
      Prediction& p = out[i];
      p.logits.assign(logits.begin() + (i - begin) * nl, logits.begin() + (i - begin + 1) * nl);
      activate(info.activation, p.logits, p.scores);
      p.encoding = std::move(encodings[i]);
    }
  }
  return out;
}

std::vector<float> CrossEncoder::predict_scores(const std::vector<std::pair<std::string, std::string>>& pairs,
                                                const PredictOptions& options) {
  auto preds = predict(pairs, options);
  std::vector<float> s(preds.size());
  for (size_t i = 0; i < preds.size(); ++i) s[i] = preds[i].scores[0];
  return s;
}

std::vector<RankResult> CrossEncoder::rank(const std::string& query, const std::vector<std::string>& documents, size_t top_k,
                                           const PredictOptions& options) {
  if (model_->info().num_labels != 1) {
    throw InputError("rank needs a one-label cross-encoder; this model has " + std::to_string(model_->info().num_labels) +
                     " labels (use predict)");
  }
  std::vector<std::pair<std::string, std::string>> pairs;
  pairs.reserve(documents.size());
  for (const auto& d : documents) pairs.emplace_back(query, d);
  std::vector<float> s = predict_scores(pairs, options);
  std::vector<RankResult> r(s.size());
  for (size_t i = 0; i < s.size(); ++i) r[i] = {i, s[i]};
  std::stable_sort(r.begin(), r.end(), [](const RankResult& x, const RankResult& y) { return x.score > y.score; });
  if (top_k && r.size() > top_k) r.resize(top_k);
  return r;
}

}  // namespace rerank

// rerank/cross_encoder.hpp — score (query, document) pairs like sentence-transformers' CrossEncoder.
//
//   auto model = rerank::Model::load("ms-marco-MiniLM-L-6-v2");
//   rerank::CrossEncoder ce(model, {.threads = 2});
//   std::vector<float> s = ce.predict_scores({{"how to reset a password", "Click 'Forgot Password'."}});
//   for (auto& r : ce.rank("how to reset a password", docs, /*top_k=*/3)) std::cout << r.corpus_id << " " << r.score;
//
// Scores equal CrossEncoder.predict: the classifier's logits passed through the model's activation (Identity for
// the ms-marco models, so raw logits; Sigmoid for other one-label models unless config.json says otherwise).
// Pairs are packed without padding, so a pair's score never depends on the batch it is scored in.
//
// Thread safety: a CrossEncoder holds per-thread scratch and is NOT thread-safe; create one per thread from a
// shared Model (cheap). Its thread pool may be shared only by encoders used from one thread at a time.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "rerank/model.hpp"
#include "rerank/thread_pool.hpp"

namespace rerank {

struct EngineOptions {
  size_t threads = 0;                 ///< pool size when `pool` is null; 0 = all cores
  size_t batch_size = 32;             ///< inputs per forward pass
  std::shared_ptr<ThreadPool> pool;   ///< run on this pool instead of creating one
  Precision precision = Precision::FP32;  ///< FP32 (exact), BF16 or INT8 matrix products
  /// Decoder rerankers (Qwen3/Qwen2): consecutive pairs of a batch that start with the same tokens (template +
  /// query) run those tokens once and attend to their keys/values. Exact; off = every pair runs whole.
  bool prefix_sharing = true;
};

struct PredictOptions {
  size_t max_length = 0;  ///< tokens per pair, special tokens included; 0 = the model's default
  /// How a pair becomes the model's input: "auto" (the Qwen3-Reranker template for Qwen3 rerankers — CausalLM
  /// with yes/no and Qwen3 seq-cls conversions —, plain pairs otherwise), "qwen3-reranker" or "none" (query tokens
  /// then document tokens, as sentence-transformers' CrossEncoder concatenates them).
  std::string template_name = "auto";
  /// The reranker template's instruction; empty = the model card's default ("Given a web search query, retrieve
  /// relevant passages that answer the query").
  std::string instruction;
};

/// Whether `options.template_name` gives `model` the Qwen3-Reranker template. InputError for an unknown name.
bool uses_reranker_template(const Model& model, const PredictOptions& options);
/// The tokens a pair is scored on, truncated to `max_length` (> 0) tokens in all. The Qwen3-Reranker template as
/// its model card builds it: CausalLM: prefix ids + ids of "<Instruct>: {instruction}\n<Query>: {query}\n
/// <Document>: {doc}" (cut at the end to fit) + suffix ids; seq-cls: the pair (prefix + "<Instruct>: ...\n<Query>:
/// {query}\n", "<Document>: {doc}" + suffix) with LongestFirst. Otherwise Tokenizer::encode_pair.
Encoding encode_scored_pair(const Model& model, std::string_view query, std::string_view document,
                            const PredictOptions& options, size_t max_length);
/// The reranker template's inputs (uses_reranker_template must hold) for the document's first `doc_cap` tokens
/// (0 = all; the tokens the document has after "<Document>:"), each at most `max_length` tokens:
///  - chunking = false: one input, cut as encode_scored_pair cuts (equal to it when the document is not cut);
///  - chunking = true: the document in windows of the tokens the template and query leave, consecutive windows
///    sharing `overlap` tokens; a document scores as its best window. InputError when no token is left for it.
std::vector<Encoding> encode_scored_chunks(const Model& model, std::string_view query, std::string_view document,
                                           const PredictOptions& options, size_t max_length, size_t doc_cap, bool chunking,
                                           size_t overlap);

struct Prediction {
  std::vector<float> logits;  ///< raw classifier outputs, num_labels of them
  std::vector<float> scores;  ///< activation(logits): what CrossEncoder.predict returns
  Encoding encoding;          ///< the tokens that were scored
};

struct RankResult {
  size_t corpus_id;  ///< index into the documents given to rank()
  float score;
};

class Session;

class CrossEncoder {
 public:
  /// Throws ModelError when the model has no classification head.
  explicit CrossEncoder(std::shared_ptr<const Model> model, EngineOptions options = {});
  ~CrossEncoder();
  CrossEncoder(CrossEncoder&&) noexcept;

  std::vector<Prediction> predict(const std::vector<std::pair<std::string, std::string>>& pairs,
                                  const PredictOptions& options = {});
  /// The first score of each pair (one-label models).
  std::vector<float> predict_scores(const std::vector<std::pair<std::string, std::string>>& pairs,
                                    const PredictOptions& options = {});
  /// Documents sorted by score, highest first (ties keep input order); top_k = 0 keeps all.
  std::vector<RankResult> rank(const std::string& query, const std::vector<std::string>& documents, size_t top_k = 0,
                               const PredictOptions& options = {});
  /// Scores already-tokenized pairs (e.g. from Model::tokenizer().encode_pair).
  std::vector<Prediction> predict_encoded(std::vector<Encoding> encodings);

  const Model& model() const { return *model_; }

 private:
  std::shared_ptr<const Model> model_;
  std::unique_ptr<Session> session_;
  size_t batch_size_;
};

}  // namespace rerank

// rerank/pipeline.hpp — two-stage search: first stage (BM25, dense or hybrid) top-k, then an optional
// cross-encoder reranks the candidates and keeps the top n. The CLI, the server and the evaluation all use this.
//
//   auto c = rerank::Collection::open("my-collection");
//   auto ce = rerank::make_reranker("cross-encoder/ms-marco-MiniLM-L-6-v2");   // or "cohere:rerank-v3.5"
//   rerank::Pipeline p(c, {.retriever = rerank::Retriever::Bm25, .k = 50, .top_n = 5}, ce);
//   rerank::SearchResult r = p.search("How do I reset my password?");
//   for (auto& x : r.reranked) std::cout << x.rank << " " << x.doc_id << " " << x.score << " (was " << x.first_rank << ")\n";
//
// Hybrid fuses BM25 and dense rankings of depth max(k, fusion_depth) by reciprocal-rank fusion
// (score = sum 1/(rrf_k + rank)) or by weighted fusion of min-max normalised scores.
// The cross-encoder reads each candidate's best passage ("title chunk") — per document, or per passage when
// `per_passage` is set.
//
// Thread safety: a Pipeline uses its Collection and Reranker, neither thread-safe: one Pipeline per thread.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "rerank/collection.hpp"
#include "rerank/first_stage.hpp"
#include "rerank/reranker.hpp"

namespace rerank {

enum class Retriever { Bm25, Dense, Hybrid };
enum class Fusion { Rrf, Weighted };

Retriever parse_retriever(const std::string& name);  ///< bm25|dense|hybrid; throws InputError
Fusion parse_fusion(const std::string& name);        ///< rrf|weighted; throws InputError

struct PipelineOptions {
  Retriever retriever = Retriever::Bm25;
  size_t k = 50;              ///< first-stage candidates
  size_t top_n = 5;           ///< kept after reranking (0 = all k)
  bool per_passage = false;   ///< rank passages instead of documents
  Fusion fusion = Fusion::Rrf;
  float rrf_k = 60.0f;
  float dense_weight = 0.5f;  ///< weighted fusion: dense * w + bm25 * (1 - w)
  size_t fusion_depth = 100;  ///< each retriever's depth before fusion (at least k)
};

struct RankedItem {
  size_t rank = 0;            ///< 1-based rank in this stage
  std::string doc_id;
  int64_t passage = 0;
  size_t passage_index = 0;
  float score = 0;
  size_t first_rank = 0;      ///< 1-based rank in the first stage
  float first_score = 0;      ///< first-stage score
};

struct SearchResult {
  std::vector<RankedItem> first_stage;  ///< top k of the first stage
  std::vector<RankedItem> reranked;     ///< top n after the cross-encoder (empty without one)
  bool has_reranker = false;
  /// The final ranking: reranked when there is a reranker, else the first stage cut to top_n.
  std::vector<RankedItem> final_ranking(size_t top_n) const;
};

/// Reciprocal-rank and weighted fusion of ranked hit lists (exposed for tests).
std::vector<Hit> fuse_rrf(const std::vector<std::vector<Hit>>& lists, float rrf_k, size_t k);
std::vector<Hit> fuse_weighted(const std::vector<Hit>& a, const std::vector<Hit>& b, float weight_b, size_t k);

class Pipeline {
 public:
  /// `reranker` may be null (first stage only).
  Pipeline(Collection& collection, PipelineOptions options, std::shared_ptr<Reranker> reranker = nullptr);
  /// Any first-stage engine (a collection, OpenSearch, ...).
  Pipeline(std::shared_ptr<FirstStage> engine, PipelineOptions options, std::shared_ptr<Reranker> reranker = nullptr);
  SearchResult search(const std::string& query);
  const PipelineOptions& options() const { return options_; }

  // The stages one at a time (search() is retrieve -> score -> rerank_order); the evaluation times them apart.
  /// The first stage alone: the top `depth` candidates (0 = options().k), ranks from 1, first_* = own rank/score.
  std::vector<RankedItem> retrieve(const std::string& query, size_t depth = 0);
  /// The reranker's scores of `candidates` (each one's passage text), in their order. Throws Error without a
  /// reranker or when it returns a wrong number of scores.
  std::vector<float> score(const std::string& query, const std::vector<RankedItem>& candidates);
  /// `candidates` ordered by `scores` descending (ties keep the candidates' order), the first `top_n` kept
  /// (0 = all), ranks renumbered from 1, score = the reranker's: search()'s `reranked`.
  static std::vector<RankedItem> rerank_order(const std::vector<RankedItem>& candidates, const std::vector<float>& scores,
                                              size_t top_n);
  bool has_reranker() const { return reranker_ != nullptr; }
  /// The reranker's name ("" without one).
  std::string reranker_name() const { return reranker_ ? reranker_->name() : std::string(); }
  /// The local collection; throws Error when the pipeline runs on another engine.
  Collection& collection();
  FirstStage& engine() { return *engine_; }

 private:
  std::vector<Hit> first_stage(const std::string& query, size_t depth);
  Collection* collection_ = nullptr;
  std::shared_ptr<FirstStage> engine_;
  PipelineOptions options_;
  std::shared_ptr<Reranker> reranker_;
};

}  // namespace rerank

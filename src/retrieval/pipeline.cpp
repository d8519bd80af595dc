// Two-stage search (see rerank/pipeline.hpp).
#include <algorithm>
#include <numeric>

#include "rerank/error.hpp"
#include "rerank/pipeline.hpp"

namespace rerank {

std::vector<RankedItem> SearchResult::final_ranking(size_t top_n) const {
  if (has_reranker) return reranked;
  std::vector<RankedItem> out = first_stage;
  if (top_n && out.size() > top_n) out.resize(top_n);
  return out;
}

namespace {

class CollectionFirstStage : public FirstStage {
 public:
  explicit CollectionFirstStage(Collection& c) : c_(c) {}
  std::vector<Hit> search_bm25(const std::string& q, size_t k, bool pp) override { return c_.search_bm25(q, k, pp); }
  std::vector<Hit> search_dense(const std::string& q, size_t k, bool pp) override { return c_.search_dense(q, k, pp); }
  std::string passage_text(int64_t passage) override { return c_.passage_text(passage); }
  size_t size() override { return c_.size(); }
  std::string describe() const override { return c_.directory().string(); }

 private:
  Collection& c_;
};

}  // namespace

std::shared_ptr<FirstStage> collection_first_stage(Collection& c) { return std::make_shared<CollectionFirstStage>(c); }

Pipeline::Pipeline(Collection& collection, PipelineOptions options, std::shared_ptr<Reranker> reranker)
    : Pipeline(collection_first_stage(collection), options, std::move(reranker)) {
  collection_ = &collection;
}

Pipeline::Pipeline(std::shared_ptr<FirstStage> engine, PipelineOptions options, std::shared_ptr<Reranker> reranker)
    : engine_(std::move(engine)), options_(options), reranker_(std::move(reranker)) {
  if (!engine_) throw Error("Pipeline: null first-stage engine");
  if (options_.k == 0) throw InputError("k must be at least 1");
}

Collection& Pipeline::collection() {
  if (!collection_) throw Error("this pipeline searches " + engine_->describe() + ", not a local collection");
  return *collection_;
}

std::vector<Hit> Pipeline::first_stage(const std::string& query, size_t depth) {
  const bool pp = options_.per_passage;
  switch (options_.retriever) {
    case Retriever::Bm25: return engine_->search_bm25(query, depth, pp);
    case Retriever::Dense: return engine_->search_dense(query, depth, pp);
    case Retriever::Hybrid: {
      size_t d = std::max(depth, options_.fusion_depth);
      auto bm25 = engine_->search_bm25(query, d, pp);
      auto dense = engine_->search_dense(query, d, pp);
      return options_.fusion == Fusion::Rrf ? fuse_rrf({bm25, dense}, options_.rrf_k, depth)
                                            : fuse_weighted(bm25, dense, options_.dense_weight, depth);
    }
  }
  return {};
}

std::vector<RankedItem> Pipeline::retrieve(const std::string& query, size_t depth) {
  engine_->begin_query();
  auto hits = first_stage(query, depth ? depth : options_.k);
  std::vector<RankedItem> out;
  out.reserve(hits.size());
  for (size_t i = 0; i < hits.size(); ++i)
    out.push_back({i + 1, hits[i].doc_id, hits[i].passage, hits[i].passage_index, hits[i].score, i + 1, hits[i].score});
  return out;
}

std::vector<float> Pipeline::score(const std::string& query, const std::vector<RankedItem>& candidates) {
  if (!reranker_) throw Error("Pipeline::score: the pipeline has no reranker");
  if (candidates.empty()) return {};
  std::vector<std::string> texts;
  texts.reserve(candidates.size());
  for (const auto& c : candidates) texts.push_back(engine_->passage_text(c.passage));
  std::vector<float> scores = reranker_->score(query, texts);
  if (scores.size() != texts.size())
    throw Error("reranker " + reranker_->name() + " returned " + std::to_string(scores.size()) + " scores for " +
                std::to_string(texts.size()) + " documents");
  return scores;
}

std::vector<RankedItem> Pipeline::rerank_order(const std::vector<RankedItem>& candidates, const std::vector<float>& scores,
                                               size_t top_n) {
  if (scores.size() != candidates.size())
    throw Error("rerank_order: " + std::to_string(scores.size()) + " scores for " + std::to_string(candidates.size()) + " candidates");
  std::vector<size_t> order(candidates.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  const size_t n = top_n ? std::min(top_n, order.size()) : order.size();
  std::vector<RankedItem> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const auto& f = candidates[order[i]];
    out.push_back({i + 1, f.doc_id, f.passage, f.passage_index, scores[order[i]], f.rank, f.score});
  }
  return out;
}

SearchResult Pipeline::search(const std::string& query) {
  SearchResult r;
  r.first_stage = retrieve(query, options_.k);
  if (!reranker_) return r;
  r.has_reranker = true;
  if (r.first_stage.empty()) return r;
  r.reranked = rerank_order(r.first_stage, score(query, r.first_stage), options_.top_n);
  return r;
}

}  // namespace rerank

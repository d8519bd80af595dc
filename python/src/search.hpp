// rerank._rerank: what the first stages' bindings (collection.cpp, opensearch.cpp) share: the second stage picked
// from a Python argument, one Pipeline search over any FirstStage, its ranking as a list of dicts.
#pragma once
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "engine.hpp"
#include "rerank/first_stage.hpp"
#include "rerank/pipeline.hpp"
#include "rerank/reranker.hpp"

namespace rerank::python {

/// A rerank.CrossEncoder's engine as the pipeline's second stage (scores = the model's activation).
class EngineReranker : public Reranker {
 public:
  EngineReranker(PyCrossEncoder& engine, size_t max_length) : engine_(engine), max_length_(max_length) {}
  std::vector<float> score(const std::string& query, const std::vector<std::string>& documents) override {
    std::vector<std::pair<std::string, std::string>> pairs;
    pairs.reserve(documents.size());
    for (const auto& d : documents) pairs.emplace_back(query, d);
    std::lock_guard<std::mutex> lock(engine_.mu());
    return engine_.at_batch_size(32).predict_scores(pairs, {max_length_});
  }
  std::string name() const override { return engine_.info().directory.filename().string(); }

 private:
  PyCrossEncoder& engine_;
  size_t max_length_;
};

/// The `reranker` argument of search(): None, a model spec (directory, Hub id, cohere:MODEL) or a CrossEncoder
/// engine (read with the GIL held; the Reranker is made later, without it).
struct SecondStage {
  PyCrossEncoder* engine = nullptr;
  std::string spec;
  size_t max_length = 0;
  SecondStage(nanobind::object reranker, size_t max_len) : max_length(max_len) {
    if (nanobind::isinstance<PyCrossEncoder>(reranker)) engine = nanobind::cast<PyCrossEncoder*>(reranker);
    else if (!reranker.is_none()) spec = nanobind::cast<std::string>(reranker);
  }
};

/// One Reranker per spec, remade when the spec changes (loading a model is the expensive part).
class RerankerCache {
 public:
  std::shared_ptr<Reranker> get(const SecondStage& s, const BackendOptions& backend) {
    if (s.engine) return std::make_shared<EngineReranker>(*s.engine, s.max_length);
    if (s.spec.empty()) return nullptr;
    if (s.spec != spec_) {
      reranker_ = make_reranker(s.spec, backend);
      spec_ = s.spec;
    }
    return reranker_;
  }

 private:
  std::shared_ptr<Reranker> reranker_;
  std::string spec_;
};

/// The final ranking and each item's passage text (call without the GIL).
struct Ranking {
  std::vector<RankedItem> items;
  std::vector<std::string> texts;
};

inline Ranking run_search(std::shared_ptr<FirstStage> engine, const PipelineOptions& po, std::shared_ptr<Reranker> second,
                          const std::string& query) {
  Pipeline p(engine, po, std::move(second));
  Ranking r;
  r.items = p.search(query).final_ranking(po.top_n);
  for (const auto& x : r.items) r.texts.push_back(engine->passage_text(x.passage));
  return r;
}

/// As the CLI's --json items (rank, id, passage, score, first_stage_rank, first_stage_score) plus the text.
inline nanobind::list ranking_list(const Ranking& r) {
  nanobind::list out;
  for (size_t i = 0; i < r.items.size(); ++i) {
    const auto& x = r.items[i];
    nanobind::dict d;
    d["rank"] = x.rank;
    d["id"] = x.doc_id;
    d["passage"] = x.passage_index;
    d["score"] = x.score;
    d["first_stage_rank"] = x.first_rank;
    d["first_stage_score"] = x.first_score;
    d["text"] = r.texts[i];
    out.append(d);
  }
  return out;
}

}  // namespace rerank::python

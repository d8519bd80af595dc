// rerank/first_stage.hpp — where first-stage candidates come from, engine-neutral: a local Collection (SQLite,
// this library's BM25 and vectors) or a search engine over HTTP (OpenSearch: rerank/opensearch.hpp). A Pipeline
// runs BM25 and dense through this interface, fuses hybrid lists itself (RRF or weighted, the same code for every
// engine) and hands the candidates' texts to the reranker. Another engine (Solr, Elasticsearch) is one more class.
//
//   rerank::Collection c = rerank::Collection::open("idx");
//   auto local = rerank::collection_first_stage(c);                      // borrows c
//   auto remote = rerank::open_opensearch({.url = "http://127.0.0.1:9200", .index = "scifact"});
//   rerank::Pipeline p(remote, {.retriever = rerank::Retriever::Hybrid, .k = 100}, reranker);
//
// Thread safety: none (a Collection is not thread-safe; an OpenSearch index holds one HTTP connection): one per
// thread.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "rerank/collection.hpp"

namespace rerank {

class FirstStage {
 public:
  virtual ~FirstStage() = default;
  /// Lexical top-k (BM25): documents, or passages when `per_passage` (an engine without passages throws
  /// InputError for it).
  virtual std::vector<Hit> search_bm25(const std::string& query, size_t k, bool per_passage) = 0;
  /// Vector top-k by cosine with the query's embedding.
  virtual std::vector<Hit> search_dense(const std::string& query, size_t k, bool per_passage) = 0;
  /// The text a reranker reads for a Hit::passage this engine returned ("title text").
  virtual std::string passage_text(int64_t passage) = 0;
  /// Documents searched.
  virtual size_t size() = 0;
  /// For reports: the collection directory, or URL/index.
  virtual std::string describe() const = 0;
  /// Called by Pipeline::retrieve before a query's first-stage searches (an engine may drop cached texts then).
  virtual void begin_query() {}
};

/// `c` as a FirstStage (borrowed: `c` must outlive it).
std::shared_ptr<FirstStage> collection_first_stage(Collection& c);

}  // namespace rerank

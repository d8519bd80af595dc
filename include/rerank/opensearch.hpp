// rerank/opensearch.hpp — an OpenSearch index as the first stage (rerank/first_stage.hpp), and bulk loading into it.
//
//   rerank::OpenSearchOptions o;                       // empty fields: $RERANK_OPENSEARCH_* (see with_environment)
//   o.url = "https://search.example:9200"; o.index = "scifact";
//   auto os = rerank::open_opensearch(o);              // checks that the index exists, reads its _meta
//   rerank::Pipeline p(os, {.retriever = rerank::Retriever::Hybrid, .k = 100, .top_n = 10}, reranker);
//
//   rerank::OpenSearchLoader load(o, embedder);        // creates the index when missing (mapping below)
//   rerank::OpenSearchLoadResult r = load.add(documents);   // _bulk; ids already present are skipped
//   load.refresh();
//
// The index (created by OpenSearchLoader): one document per input document, `_id` = its id. Fields: `content`
// = "title text" (what this library's BM25 indexes and a reranker reads), analyzed like Lucene's EnglishAnalyzer
// (standard tokenizer, English possessive, lowercase, the 33 English stop words, Porter stemmer: the chain our
// Analyzer reproduces) with BM25 similarity k1 0.9, b 0.4 (OpenSearchOptions::k1/b); not kept in _source;
// `title`, `text` (stored, not indexed); `embedding` (the bi-encoder's L2-normalised vector): a `knn_vector`
// (HNSW, Lucene engine, cosine) when the cluster has the k-NN plugin, else a float array kept in _source only.
// The mapping's `_meta` records the embedder identity and dimension, as a collection does.
//
// Search: BM25 is a `match` query on `content` with search_type=dfs_query_then_fetch (term statistics over all
// shards, so several shards score as one index does); OpenSearch's "BM25" similarity is Lucene's
// LegacyBM25Similarity, (k1 + 1) times Lucene 9's BM25, so scores are divided by k1 + 1 (k1 from _meta). Dense: a `knn` query on a knn_vector field; on a float
// array an exact `script_score` (Painless: 1 + dot product with the query vector over _source, i.e. 1 + cosine;
// the hit's score is that minus 1). Hybrid is fused by Pipeline (RRF / weighted) like any engine's lists.
// Results are per document (the index has no passages): per_passage throws InputError.
//
// Errors: RemoteError naming the URL, the HTTP status and OpenSearch's error type and reason (e.g. "HTTP 404:
// index_not_found_exception: no such index [x]"). Requests retry 429/5xx/timeouts with backoff; a _bulk item
// rejected with 429 is sent again (backoff doubling, at most max_attempts times).
//
// Thread safety: an OpenSearch first stage or loader holds one HTTP connection: one per thread.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "rerank/collection.hpp"
#include "rerank/first_stage.hpp"
#include "rerank/index.hpp"

namespace rerank {

struct OpenSearchOptions {
  std::string url;             ///< base URL, e.g. http://127.0.0.1:9200 ($RERANK_OPENSEARCH_URL)
  std::string index;           ///< index name ($RERANK_OPENSEARCH_INDEX)
  std::string user, password;  ///< basic authentication ($RERANK_OPENSEARCH_USER, $RERANK_OPENSEARCH_PASSWORD)
  std::string api_key;         ///< "Authorization: ApiKey KEY" ($RERANK_OPENSEARCH_API_KEY); not with user
  std::string ca_cert;         ///< PEM bundle to verify https with ($RERANK_OPENSEARCH_CA_CERT)
  bool insecure = false;       ///< do not verify https certificates ($RERANK_OPENSEARCH_INSECURE=1)
  double timeout_seconds = 0;  ///< per request; 0 = $RERANK_OPENSEARCH_TIMEOUT, else 30
  int max_attempts = 5;        ///< tries per request (429, 5xx, timeouts) and per rejected bulk item
  double backoff_seconds = 0.5;
  // index creation (OpenSearchLoader)
  size_t shards = 1, replicas = 0;
  float k1 = 0.9f, b = 0.4f;
  /// The empty fields filled from the environment; then checked (InputError naming the field or variable).
  OpenSearchOptions with_environment() const;
};

/// Opens an existing index as a first stage. The query embedder (dense, hybrid) is `embedder` when given, else
/// the one the index's _meta records (embedder_from_identity with `engine`), created at the first dense search.
std::shared_ptr<FirstStage> open_opensearch(const OpenSearchOptions& options, std::shared_ptr<Embedder> embedder = nullptr,
                                            EngineOptions engine = {});

struct OpenSearchLoadResult {
  size_t added = 0, replaced = 0, skipped = 0;
  size_t retried = 0;  ///< bulk items sent again after a 429 rejection
};

class OpenSearchLoader {
 public:
  /// Creates the index when missing (mapping above; with a vector field when `embedder` is given), else checks
  /// that its recorded embedder matches `embedder` (InputError otherwise).
  OpenSearchLoader(const OpenSearchOptions& options, std::shared_ptr<Embedder> embedder);
  ~OpenSearchLoader();
  /// One batch: ids already in the index are skipped (mode SkipExisting: no embedding work for them) or replaced;
  /// the rest embedded (when there is an embedder) and sent with _bulk. An id repeated within the batch resolves as
  /// across batches (resolve_repeated_ids: first kept, or last with Replace). InputError for an empty id.
  OpenSearchLoadResult add(const std::vector<Document>& docs, AddMode mode = AddMode::SkipExisting);
  /// Makes everything added visible to search.
  void refresh();
  size_t count();
  bool knn() const;  ///< the vector field is a k-NN plugin knn_vector
  const std::string& url() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Deletes the index (tests and re-creation); false when it did not exist.
bool delete_opensearch_index(const OpenSearchOptions& options);

}  // namespace rerank

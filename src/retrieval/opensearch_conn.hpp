// retrieval/opensearch_conn.hpp — internal: one HTTP connection to an OpenSearch cluster (base URL, index,
// authentication, TLS, retries) and what the first stage (opensearch.cpp) and the loader (opensearch_load.cpp)
// share: the index's mapping as read back, the index body it is created with.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "clients/http_client.hpp"
#include "rerank/opensearch.hpp"

namespace rerank::opensearch {

/// What an existing index records (GET /INDEX/_mapping).
struct IndexInfo {
  std::string name;          ///< the concrete index (an alias resolves to it)
  std::string vector_type;   ///< "knn_vector", "float" or "" (no embedding field)
  std::string embedder;      ///< _meta.embedder ("" without embeddings)
  size_t dimension = 0;      ///< _meta.dimension
  double k1 = 0.9;           ///< _meta.k1: OpenSearch's "BM25" (Lucene's LegacyBM25Similarity) scores (k1 + 1) times ours
};

class Conn {
 public:
  explicit Conn(const OpenSearchOptions& options);  ///< options already through with_environment()
  /// A request to base + path; 2xx answer as JSON, else RemoteError naming the URL, status, type and reason.
  nlohmann::json call(const std::string& method, const std::string& path, const std::string& body = "",
                      const std::string& content_type = "application/json");
  /// One attempt, no exception for HTTP statuses (existence checks): the status, the body in `out` when JSON.
  long probe(const std::string& method, const std::string& path, nlohmann::json* out = nullptr);
  /// The index's mapping; throws RemoteError (404: index_not_found_exception ...) when it does not exist.
  IndexInfo info();
  /// Whether any node runs the k-NN plugin (GET /_cat/plugins).
  bool has_knn_plugin();
  const OpenSearchOptions& options() const { return o_; }
  std::string url(const std::string& path) const { return o_.url + path; }
  std::string where() const { return "OpenSearch index \"" + o_.index + "\" at " + o_.url; }
  http::Client& client() { return client_; }

 private:
  http::Request request(const std::string& method, const std::string& path, const std::string& body,
                        const std::string& content_type) const;
  OpenSearchOptions o_;
  http::Client client_;
  std::vector<std::string> auth_;
};

/// The body of PUT /INDEX: settings (shards, replicas, BM25 similarity, the English analyzer chain) and mappings
/// (content, title, text, metadata, embedding when `dimension` > 0 as knn_vector or float array, _meta).
nlohmann::json index_body(const OpenSearchOptions& o, size_t dimension, const std::string& embedder, bool knn);

/// "title text" as Collection::passage_text builds it.
inline std::string content_of(const std::string& title, const std::string& text) {
  return title.empty() ? text : title + " " + text;
}

}  // namespace rerank::opensearch

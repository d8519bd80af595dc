// clients/remote.hpp — internal: the remote backends behind make_reranker("cohere:MODEL") and
// make_embedder("openai:MODEL") (see rerank/reranker.hpp for the specs and their environment defaults).
//
//   auto r = rerank::make_cohere_reranker("rerank-v3.5", {.base_url = "http://127.0.0.1:8080"});
//   auto e = rerank::make_openai_embedder("text-embedding-3-small", {});   // $OPENAI_BASE_URL, $OPENAI_API_KEY
//
// Thread safety: each returned object holds an HTTP client (one curl handle): one per thread.
#pragma once
#include <memory>
#include <string>

#include "rerank/reranker.hpp"

namespace rerank {

/// Cohere-compatible POST {base}/v2/rerank. Throws InputError for a bad base URL or options.
std::shared_ptr<Reranker> make_cohere_reranker(const std::string& model, const RemoteOptions& options);
/// OpenAI-compatible POST {base}/embeddings; identity() "openai:MODEL@BASE_URL".
std::shared_ptr<Embedder> make_openai_embedder(const std::string& model, const RemoteOptions& options);
/// Splits "openai:MODEL@BASE_URL"; false when `identity` is not of that form.
bool parse_openai_identity(const std::string& identity, std::string& model, std::string& base_url);

}  // namespace rerank

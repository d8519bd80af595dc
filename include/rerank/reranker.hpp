// rerank/reranker.hpp — the second stage as an interface, and the factories that turn a user's model spec into
// a reranker or an embedder: a local model directory, a Hugging Face Hub id, or a remote service.
//
//   rerank::BackendOptions o;                       // engine threads/precision, remote base URL/key/timeouts
//   auto local  = rerank::make_reranker("cross-encoder/ms-marco-MiniLM-L-6-v2", o);   // dir or Hub id
//   auto remote = rerank::make_reranker("cohere:rerank-v3.5", o);                   // Cohere /v2/rerank
//   std::vector<float> s = local->score("how to reset a password", {"Click 'Forgot Password'.", "Our office..."});
//   auto emb = rerank::make_embedder("openai:text-embedding-3-small", o);           // OpenAI /v1/embeddings
//
// Specs: "cohere:MODEL" (Cohere-compatible POST {base}/v2/rerank; base from RemoteOptions, else $COHERE_BASE_URL,
// else https://api.cohere.com; key from RemoteOptions, else $COHERE_API_KEY or $CO_API_KEY) and
// "openai:MODEL" (OpenAI-compatible POST {base}/embeddings; base from RemoteOptions, else $OPENAI_BASE_URL, else
// https://api.openai.com/v1; key from RemoteOptions, else $OPENAI_API_KEY). Anything else is a local model
// directory or a Hub id (resolved with rerank::resolve_model, so it is downloaded into the HF cache when needed).
// Remote scores are what the service returns (Cohere: relevance_score in [0, 1]); local scores are
// CrossEncoder.predict's. Remote requests retry 429/5xx/timeouts with backoff (Retry-After honoured), fail at once
// on other 4xx, and throw RemoteError naming the URL, the HTTP status and the service's message; answers are
// validated (every index once, in range, numeric scores / consistent dimensions). Batches: Cohere 1000
// documents, OpenAI 2048 inputs per request (RemoteOptions::max_batch). An openai: embedder's identity is
// "openai:MODEL@BASE_URL" (never the key), so a collection indexed with it finds the service again.
//
// Thread safety: a Reranker is NOT thread-safe (a local one holds a CrossEncoder's scratch): one per thread.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "rerank/cross_encoder.hpp"
#include "rerank/index.hpp"

namespace rerank {

class Reranker {
 public:
  virtual ~Reranker() = default;
  /// One relevance score per document, in the documents' order; higher is more relevant.
  virtual std::vector<float> score(const std::string& query, const std::vector<std::string>& documents) = 0;
  /// A short name for reports, e.g. "ms-marco-MiniLM-L-6-v2" or "cohere:rerank-v3.5".
  virtual std::string name() const = 0;
};

/// Settings of the remote clients (Cohere rerank, OpenAI-compatible embeddings).
struct RemoteOptions {
  std::string base_url;          ///< empty: the provider's environment variable, else its public URL
  std::string api_key;           ///< empty: the provider's environment variable
  double timeout_seconds = 30;   ///< per HTTP request
  int max_attempts = 4;          ///< tries on 429 / 5xx / timeouts, with exponential backoff (Retry-After honoured)
  double backoff_seconds = 0.5;  ///< first wait; doubles per retry
  size_t max_batch = 0;          ///< texts per request; 0 = the provider's limit (Cohere 1000 documents, OpenAI 2048 inputs)
};

struct BackendOptions {
  EngineOptions engine;    ///< local models: threads, batch size, precision
  PredictOptions predict;  ///< local cross-encoders: tokens per pair
  RemoteOptions remote;    ///< remote services
};

/// A local CrossEncoder as a Reranker (scores = predict_scores).
std::shared_ptr<Reranker> make_cross_encoder_reranker(std::shared_ptr<CrossEncoder> encoder, PredictOptions options = {},
                                                      std::string name = "");
/// "cohere:MODEL", a model directory or a Hub id. Throws InputError/ModelError/Error with a message naming the spec.
std::shared_ptr<Reranker> make_reranker(const std::string& spec, const BackendOptions& options = {});
/// "openai:MODEL", a model directory or a Hub id.
std::shared_ptr<Embedder> make_embedder(const std::string& spec, const BackendOptions& options = {});

/// embedder_from_identity (rerank/index.hpp) with the remote key and timeouts of `options`: "openai:MODEL@BASE_URL"
/// uses the recorded BASE_URL, `options.remote.api_key` (else $OPENAI_API_KEY) and its timeouts/attempts.
std::shared_ptr<Embedder> embedder_from_identity(const std::string& identity, const BackendOptions& options);

/// True for specs naming a remote service ("cohere:…", "openai:…").
bool is_remote_spec(const std::string& spec);

}  // namespace rerank

// rerank/server.hpp — an HTTP server speaking the Cohere Rerank, Hugging Face TEI, Jina and OpenAI embeddings APIs
// in front of our cross-encoders and bi-encoders, with dynamic batching across concurrent requests.
//
//   rerank::ServerOptions o;
//   o.models = {"cross-encoder/ms-marco-MiniLM-L-6-v2", "models/all-MiniLM-L6-v2"};  // dirs or Hub ids
//   o.port = 0;                                   // 0 = an ephemeral port
//   rerank::Server server(o);                     // loads (and if needed pulls) every model; throws rerank::Error
//   int port = server.start();                    // binds and serves on a background thread
//   ...                                           // POST http://127.0.0.1:<port>/v2/rerank
//   server.stop();                                // graceful: finishes in-flight requests, then returns
//
// Or `server.bind(); server.serve();` to serve on the calling thread until another thread calls stop().
//
// Routes (JSON in and out; every error is an HTTP 4xx/5xx with a body {"message": "..."}):
//   POST /v2/rerank, /v1/rerank   Cohere (v1 also Jina-style): {model, query, documents, top_n, max_tokens_per_doc,
//                                 return_documents, chunking} -> {id, results: [{index, relevance_score,
//                                 document?}], meta}; relevance_score = sigmoid(logit)
//   POST /rerank, /embed, /predict, /tokenize; GET /info, /health, /metrics   Hugging Face TEI shapes
//   GET /ready (also /readyz)     readiness: 200 {"status": "ready"} once every model ran its warm-up pass; 503
//                                 {"status": "starting" | "draining" | "failed", "message"} otherwise. /health is
//                                 liveness: 200 whenever the process serves HTTP. Neither needs the API key.
//   POST /v1/embeddings, GET /v1/models   OpenAI shapes (float or base64 encoding_format)
//   POST /search                  two-stage search of `collection` with rerank::Pipeline: {query, k?, top_n?,
//                                 retriever?, model?, return_documents?} -> {query, retriever, model, results:
//                                 [{rank, id, passage, score, first_stage_rank, first_stage_score, text?}],
//                                 first_stage: [...]}; the cross-encoder is `model` or the first one-label one
//                                 served (scores as CrossEncoder.predict), through its batching scheduler;
//                                 without any, results are the first stage. 404 when no collection is served.
//                                 With `opensearch` the first stage is that OpenSearch index (same request/answer).
// The request's `model` field picks a model by name (directory basename or Hub id as given); without it, the
// first model of the kind the route needs (cross-encoder for rerank/predict, bi-encoder for embeddings).
//
// Batching: each model has one scheduler thread owning the model's CrossEncoder/BiEncoder. HTTP threads tokenize
// and enqueue their pairs; the scheduler gathers pairs from the queued requests, oldest first, up to
// `max_batch_tokens` tokens, runs one forward pass and hands each request its scores. A request larger than the
// budget is split over several passes. More than `max_queue` waiting requests -> 429 with Retry-After.
//
// Collections are not thread-safe: /search leases one of `collection_workers` Collection handles per request.
//
// Thread safety: every method may be called from any thread; stop() is idempotent. Do not call stop() from a
// signal handler (block the signals and use sigwait in a thread, as `rerank serve` does).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "rerank/error.hpp"
#include "rerank/model.hpp"
#include "rerank/opensearch.hpp"

namespace rerank {

struct ServerOptions {
  std::vector<std::string> models;  ///< model directories or Hub ids; at least one unless `collection` is set
  std::string collection;          ///< collection directory (rerank index) for POST /search; "" = no /search
  size_t collection_workers = 2;   ///< /search requests served at once (each its own Collection: SQLite + caches)
  /// url or index set (not with `collection`): POST /search on this OpenSearch index (rerank/opensearch.hpp), one
  /// connection per worker; empty fields from $RERANK_OPENSEARCH_*.
  OpenSearchOptions opensearch;
  std::string host = "127.0.0.1";
  int port = 8080;                 ///< 0 = an ephemeral port (see Server::port())
  std::string api_key;             ///< non-empty: every route but /health needs "Authorization: Bearer <key>"
  size_t max_batch_tokens = 16384;  ///< token budget of one forward pass
  size_t max_concurrent = 64;      ///< HTTP worker threads (connections served at once)
  size_t max_queue = 256;          ///< requests waiting for a model's scheduler before 429
  bool batching = true;            ///< false: one request per forward pass (to measure the effect)
  size_t max_documents = 1000;     ///< documents / texts / inputs per request (413 beyond)
  size_t max_request_bytes = 8u << 20;    ///< request body size (413 beyond)
  size_t max_header_bytes = 64u << 10;    ///< request line + headers (431 beyond; one header line > 8 KiB: 400)
  int read_timeout_seconds = 5;           ///< a client silent this long mid-request is disconnected (slow clients)
  size_t max_request_tokens = 1u << 20;   ///< tokens one request may send to the model, after truncation (413)
  size_t threads = 0;              ///< engine threads per model (0 = all cores)
  Precision precision = Precision::FP32;
  bool chunking = false;           ///< default of the request field "chunking" (chunk-and-max for long documents)
  size_t chunk_overlap = 32;       ///< document tokens shared by consecutive chunks
  bool access_log = true;          ///< one JSON line per request on stderr (or to `log`)
  std::function<void(const std::string&)> log;   ///< receives access-log lines; null = stderr
  std::function<void()> before_batch;            ///< test hook: runs on the scheduler thread before each batch
  bool warmup = true;              ///< one short forward pass per model before GET /ready answers 200
  std::function<void()> before_warmup;           ///< test hook: runs on each scheduler thread before its warm-up
};

class Server {
 public:
  /// Resolves and loads every model. Throws ModelError / HubError / InputError.
  explicit Server(ServerOptions options);
  ~Server();  ///< stop()s and joins
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds host:port; returns the bound port. Throws Error when the address cannot be bound.
  int bind();
  /// Serves on the calling thread until stop() (binds first if needed). Returns after in-flight work is done.
  void serve();
  /// bind() + serve() on a background thread; returns the port once the server accepts connections.
  int start();
  /// Stops accepting, lets in-flight requests finish, stops the schedulers. Idempotent.
  void stop();
  /// Starts draining: GET /ready answers 503 from now on, while every request (new connections too) is still
  /// served, with "Connection: close" so that clients reconnect (elsewhere, once a balancer has seen /ready).
  /// stop() ends it. Idempotent.
  void drain();
  /// What GET /ready answers 200 to: every model's warm-up pass is done and succeeded, and not draining.
  bool ready() const;
  int port() const;

  struct Stats {
    uint64_t requests = 0;              ///< HTTP requests answered
    uint64_t batches = 0;               ///< forward passes run by the schedulers
    uint64_t merged_batches = 0;        ///< forward passes that served more than one request
    uint64_t max_requests_per_batch = 0;
    size_t queue_depth = 0;             ///< requests waiting now (all models)
  };
  Stats stats() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace rerank

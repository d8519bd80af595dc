// state.hpp — internal: what every route shares (options, models, metrics), the per-request context the access
// log reads, and the route helpers (JSON answers, the error wrapper, scoring documents).
#pragma once
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "rerank/server.hpp"
#include "server/errors.hpp"
#include "server/metrics.hpp"
#include "server/models.hpp"

namespace rerank::server {

class CollectionPool;  // routes_search.cpp

struct State {
  ServerOptions options;
  std::vector<std::unique_ptr<ServedModel>> models;
  Metrics metrics;
  std::shared_ptr<CollectionPool> collections;  ///< null without --collection
  std::atomic<bool> draining{false};            ///< Server::drain(): /ready answers 503, responses close
};

/// Readiness for GET /ready: "ready", "starting" (a warm-up pass still running), "draining" or "failed" (a
/// warm-up pass threw; `message` says which model and why).
struct Readiness {
  std::string status;
  std::string message;
  bool ready() const { return status == "ready"; }
};
Readiness readiness(const State& st);

/// Per-request facts for the access log, set by the handler thread (httplib runs pre-routing, the handler and
/// the logger of one request on the same thread).
struct RequestContext {
  bool active = false;
  std::chrono::steady_clock::time_point start;
  std::string model;
  BatchInfo batch;
  bool batched = false;
};
RequestContext& request_context();

/// Writes a JSON answer.
void reply(httplib::Response& res, const OJson& body, int status = 200);
/// Writes {"message": ...} with `status` (and Retry-After when given).
void reply_error(httplib::Response& res, int status, const std::string& message, int retry_after = 0);

using RouteFn = std::function<void(const httplib::Request&, httplib::Response&)>;
/// Wraps a route: ApiError -> its status, InputError -> 422, anything else -> 500; never lets an exception out.
httplib::Server::Handler guarded(RouteFn fn);

/// The list field `key` of strings (or, when `allow_objects`, {"text": string} objects). 422 when missing, not a
/// list, empty or with a bad element; 413 beyond `max_items`.
std::vector<std::string> parse_texts(const Json& body, const char* key, bool allow_objects, size_t max_items);

/// Scores documents against a query on a cross-encoder: the first logit per document (the best chunk's with
/// chunking). Runs through the model's scheduler; records batch info in the request context.
struct Scored {
  std::vector<float> logits;  ///< one per document
  size_t tokens = 0;
};
Scored score_documents(State& st, ServedModel& m, const std::string& query, const std::vector<std::string>& documents,
                       const PairOptions& opt);

/// Document indices sorted by score, highest first (ties keep input order), cut to top_n (0 = all).
std::vector<size_t> ranking(const std::vector<float>& scores, size_t top_n);

inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

/// Where the routes are registered: httplib's server (HttplibRoutes), or a table whose handlers a caller runs
/// directly, without a socket (tests/fuzz/fuzz_server.cpp).
class Routes {
 public:
  virtual ~Routes() = default;
  virtual void Get(const std::string& path, httplib::Server::Handler handler) = 0;
  virtual void Post(const std::string& path, httplib::Server::Handler handler) = 0;
};
class HttplibRoutes : public Routes {
 public:
  explicit HttplibRoutes(httplib::Server& http) : http_(http) {}
  void Get(const std::string& path, httplib::Server::Handler h) override { http_.Get(path, std::move(h)); }
  void Post(const std::string& path, httplib::Server::Handler h) override { http_.Post(path, std::move(h)); }

 private:
  httplib::Server& http_;
};

/// Fills `st` for `options` as Server does: loads the models, opens the collection pool, starts one scheduler per
/// model and registers the queue-depth gauge. Throws what Server's constructor throws.
void init_state(State& st, ServerOptions options);
/// Every route of every API (cohere, tei, openai, search).
void register_routes(Routes& routes, State& st);

void register_cohere_routes(Routes& http, State& st);
void register_tei_routes(Routes& http, State& st);
void register_openai_routes(Routes& http, State& st);
/// The /search collection handles for `options.collection` (null when empty). Throws Error when it holds none.
std::shared_ptr<CollectionPool> open_collection_pool(const ServerOptions& options);
/// POST /search (404 when st.collections is null).
void register_search_routes(Routes& http, State& st);
/// GET /ready and /readyz.
void register_ready_routes(Routes& http, State& st);

}  // namespace rerank::server

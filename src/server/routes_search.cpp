// routes_search.cpp — POST /search: two-stage search of the served collection with rerank::Pipeline.
//
// Request:  {query, k? (50), top_n? (5), retriever? ("bm25" | "dense" | "hybrid"), model?, return_documents?}
// Response: {query, retriever, model (the cross-encoder, or null), results: [{rank, id, passage, score,
//            first_stage_rank, first_stage_score, text?}], first_stage: [{rank, id, passage, score, text?}]}
// The cross-encoder runs through its model's batching scheduler (so concurrent /search and /v2/rerank requests share
// forward passes); its scores are CrossEncoder.predict's (the model's activation of the logit), as `rerank search`
// prints. Collections are not thread-safe: each request leases one of `collection_workers` Collection handles
// (opened lazily, each with its own SQLite connection and query embedder) -- or, with an OpenSearch index as the
// first stage, one of as many OpenSearch connections.
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <optional>

#include "rerank/collection.hpp"
#include "rerank/pipeline.hpp"
#include "server/state.hpp"

namespace rerank::server {

class CollectionPool {
 public:
  struct Slot {
    std::unique_ptr<Collection> collection;  ///< null for an OpenSearch slot
    std::shared_ptr<FirstStage> stage;       ///< the collection's adapter, or the OpenSearch index
    bool embedder = false;  ///< the query embedder is attached
  };

  CollectionPool(std::filesystem::path dir, size_t max, EngineOptions engine)
      : dir_(std::move(dir)), max_(std::max<size_t>(1, max)), engine_(engine) {
    if (!std::filesystem::is_directory(dir_)) throw InputError("serve: collection " + dir_.string() + ": no such directory");
    auto first = open_slot();  // fails now when there is none
    embedder_identity_ = first->collection->stats().embedder;
    idle_.push_back(std::move(first));
    created_ = 1;
  }

  /// OpenSearch: the index is checked now (exists, made by rerank index --to opensearch).
  CollectionPool(OpenSearchOptions opensearch, size_t max, EngineOptions engine)
      : opensearch_(opensearch.with_environment()), max_(std::max<size_t>(1, max)), engine_(engine) {
    idle_.push_back(open_slot());
    created_ = 1;
  }

  class Lease {
   public:
    Lease(CollectionPool& pool, std::unique_ptr<Slot> slot) : pool_(pool), slot_(std::move(slot)) {}
    ~Lease() { pool_.release(std::move(slot_)); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Slot& operator*() { return *slot_; }

   private:
    CollectionPool& pool_;
    std::unique_ptr<Slot> slot_;
  };

  std::unique_ptr<Lease> acquire() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !idle_.empty() || created_ < max_; });
    if (!idle_.empty()) {
      auto s = std::move(idle_.back());
      idle_.pop_back();
      return std::make_unique<Lease>(*this, std::move(s));
    }
    ++created_;
    lock.unlock();
    std::unique_ptr<Slot> s;
    try {
      s = open_slot();
    } catch (...) {
      std::lock_guard<std::mutex> g(mu_);
      --created_;
      cv_.notify_one();
      throw;
    }
    return std::make_unique<Lease>(*this, std::move(s));
  }

  /// Attaches the query embedder the collection was indexed with (dense and hybrid retrieval).
  void attach_embedder(Slot& s) const {
    if (s.embedder || !s.collection) return;  // OpenSearch: the index's _meta names its embedder
    if (embedder_identity_.empty())
      throw ApiError(422, "the collection has no embeddings (index it with --bi-encoder): use \"retriever\": \"bm25\"");
    s.collection->set_embedder(embedder_from_identity(embedder_identity_, engine_));
    s.embedder = true;
  }

 private:
  std::unique_ptr<Slot> open_slot() const {
    auto s = std::make_unique<Slot>();
    if (opensearch_) {
      s->stage = open_opensearch(*opensearch_, nullptr, engine_);
    } else {
      s->collection = std::make_unique<Collection>(Collection::open(dir_));
      s->stage = collection_first_stage(*s->collection);
    }
    return s;
  }

  void release(std::unique_ptr<Slot> s) {
    std::lock_guard<std::mutex> g(mu_);
    if (s) idle_.push_back(std::move(s));
    cv_.notify_one();
  }

  std::filesystem::path dir_;
  std::optional<OpenSearchOptions> opensearch_;
  size_t max_;
  EngineOptions engine_;
  std::string embedder_identity_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Slot>> idle_;
  size_t created_ = 0;
};

namespace {

/// A served cross-encoder as a Reranker: pairs go through the model's scheduler; scores are the model's
/// activation of the first logit (CrossEncoder.predict's).
class ScheduledReranker : public Reranker {
 public:
  ScheduledReranker(State& st, ServedModel& m) : st_(st), m_(m) {}
  std::vector<float> score(const std::string& query, const std::vector<std::string>& documents) override {
    if (documents.empty()) return {};
    Scored s = score_documents(st_, m_, query, documents, PairOptions{});
    std::vector<float> out(s.logits.size());
    for (size_t i = 0; i < out.size(); ++i) {
      const double x = s.logits[i];
      switch (m_.model->info().activation) {
        case Activation::Sigmoid: out[i] = static_cast<float>(sigmoid(x)); break;
        case Activation::Tanh: out[i] = static_cast<float>(std::tanh(x)); break;
        case Activation::Softmax: out[i] = 1.0f; break;  // softmax over one label
        case Activation::Identity: out[i] = static_cast<float>(x); break;
      }
    }
    return out;
  }
  std::string name() const override { return m_.name; }

 private:
  State& st_;
  ServedModel& m_;
};

/// The cross-encoder for /search: `requested` by name, else the first one-label cross-encoder; null when none.
ServedModel* search_model(State& st, const std::string& requested) {
  if (!requested.empty()) {
    ServedModel& m = pick_model(st.models, requested, true);
    if (m.model->info().num_labels != 1)
      throw ApiError(422, "model '" + m.name + "' has " + std::to_string(m.model->info().num_labels) +
                              " labels; reranking needs a one-label cross-encoder");
    return &m;
  }
  for (auto& m : st.models)
    if (m->cross && m->model->info().num_labels == 1) return m.get();
  return nullptr;
}

OJson items(const std::vector<RankedItem>& list, FirstStage& c, bool text, bool first_stage) {
  OJson a = OJson::array();
  for (const auto& x : list) {
    OJson o;
    o["rank"] = x.rank;
    o["id"] = x.doc_id;
    o["passage"] = x.passage_index;
    o["score"] = x.score;
    if (!first_stage) {
      o["first_stage_rank"] = x.first_rank;
      o["first_stage_score"] = x.first_score;
    }
    if (text) o["text"] = c.passage_text(x.passage);
    a.push_back(std::move(o));
  }
  return a;
}

void search(State& st, const httplib::Request& req, httplib::Response& res) {
  if (!st.collections)
    throw ApiError(404, "this server has no collection to search: start it with rerank serve --collection DIR");
  const Json body = parse_body(req.body);
  const std::string query = require_string(body, "query");
  if (query.find_first_not_of(" \t\r\n") == std::string::npos) throw ApiError(422, "field \"query\" must not be empty");
  PipelineOptions po;
  po.k = static_cast<size_t>(optional_int(body, "k", 1).value_or(50));
  if (po.k > st.options.max_documents)
    throw ApiError(413, "field \"k\" is " + std::to_string(po.k) + "; at most " + std::to_string(st.options.max_documents) +
                            " candidates are allowed per request");
  po.top_n = static_cast<size_t>(optional_int(body, "top_n", 1).value_or(5));
  const std::string retriever = optional_string(body, "retriever");
  try {
    po.retriever = parse_retriever(retriever.empty() ? "bm25" : retriever);
  } catch (const InputError&) {
    throw ApiError(422, "field \"retriever\" must be \"bm25\", \"dense\" or \"hybrid\"");
  }
  const bool return_documents = optional_bool(body, "return_documents", false);
  ServedModel* m = search_model(st, optional_string(body, "model"));
  std::shared_ptr<Reranker> reranker;
  if (m) {
    reranker = std::make_shared<ScheduledReranker>(st, *m);
    request_context().model = m->name;
  }

  auto lease = st.collections->acquire();
  CollectionPool::Slot& slot = **lease;
  if (po.retriever != Retriever::Bm25) st.collections->attach_embedder(slot);
  Pipeline pipeline(slot.stage, po, reranker);
  SearchResult r;
  try {
    r = pipeline.search(query);
  } catch (const RemoteError& e) {  // the first-stage engine (OpenSearch) failed: a gateway error, not ours
    throw ApiError(502, e.what());
  }
  OJson out;
  out["query"] = query;
  out["retriever"] = retriever.empty() ? "bm25" : retriever;
  out["model"] = m ? OJson(m->name) : OJson(nullptr);
  out["results"] = items(r.final_ranking(po.top_n), *slot.stage, return_documents, false);
  out["first_stage"] = items(r.first_stage, *slot.stage, return_documents, true);
  reply(res, out);
}

}  // namespace

std::shared_ptr<CollectionPool> open_collection_pool(const ServerOptions& o) {
  const EngineOptions engine{o.threads, 32, nullptr, o.precision};
  if (!o.opensearch.url.empty() || !o.opensearch.index.empty()) {
    if (!o.collection.empty()) throw InputError("serve: give either --collection or --opensearch/--index for /search, not both");
    return std::make_shared<CollectionPool>(o.opensearch, o.collection_workers, engine);
  }
  if (o.collection.empty()) return nullptr;
  return std::make_shared<CollectionPool>(o.collection, o.collection_workers, engine);
}

void register_search_routes(Routes& http, State& st) {
  http.Post("/search", guarded([&st](const httplib::Request& q, httplib::Response& r) { search(st, q, r); }));
}

}  // namespace rerank::server

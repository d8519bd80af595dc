// models.hpp — internal: the served models (name, kind, scheduler) and how request texts become model inputs:
// query/document pairs with max_tokens_per_doc truncation or chunk-and-max, and single texts.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "rerank/cross_encoder.hpp"
#include "rerank/model.hpp"
#include "rerank/server.hpp"
#include "server/errors.hpp"
#include "server/scheduler.hpp"

namespace rerank::server {

struct ServedModel {
  std::string name;    ///< directory basename or the Hub id as given
  std::string source;  ///< what --model said
  std::shared_ptr<const Model> model;
  bool cross = false;  ///< has a classification head
  std::unique_ptr<Scheduler> scheduler;
  // Pairs can be built from the query's and the document's own token ids (Tokenizer::assemble_pair), checked at
  // load against encode_pair: used to truncate documents alone (max_tokens_per_doc) and to chunk them.
  bool pair_template = false;
};

/// How documents are turned into pairs for one request.
struct PairOptions {
  size_t max_tokens_per_doc = 0;  ///< 0 = no limit of its own (the model's max length still applies)
  bool chunking = false;          ///< split long documents into chunks; a document scores as its best chunk
  size_t chunk_overlap = 32;
  bool truncate = true;           ///< false: a pair longer than the model's max length is a 413
  PredictOptions predict;         ///< the request's "template" and "instruction" (decoder rerankers)
};

/// The request's "template" ("auto" when absent) and "instruction" fields into `po`.
void read_template_fields(const Json& body, PairOptions& po);

/// The pairs of one rerank request; `owner[i]` is the document of pair i (several with chunking).
struct PairInputs {
  std::vector<Encoding> pairs;
  std::vector<size_t> owner;
  size_t tokens = 0;
};

/// Builds the pairs (query, documents[i]). Throws ApiError 413 when a pair is too long and !truncate, or the total
/// exceeds `max_request_tokens`.
PairInputs make_pairs(const ServedModel& m, const std::string& query, const std::vector<std::string>& documents,
                      const PairOptions& opt, size_t max_request_tokens);

/// Single-text inputs (embeddings, TEI /predict with one text); 413 as above.
std::vector<Encoding> make_texts(const ServedModel& m, const std::vector<std::string>& texts, bool truncate,
                                 size_t max_request_tokens, size_t* tokens);

/// Loads every model of `options.models`; names them; checks the pair template.
std::vector<std::unique_ptr<ServedModel>> load_models(const ServerOptions& options);

/// The model a request asked for: `requested` by name, else the first of the kind (`cross`). 404 for an unknown
/// name, 422 for a model of the wrong kind, 404 when no model of the kind is served.
ServedModel& pick_model(const std::vector<std::unique_ptr<ServedModel>>& models, const std::string& requested, bool cross);
/// The model by name, else the first one (any kind).
ServedModel& pick_any_model(const std::vector<std::unique_ptr<ServedModel>>& models, const std::string& requested);

}  // namespace rerank::server

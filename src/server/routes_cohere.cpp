// routes_cohere.cpp — Cohere Rerank: POST /v2/rerank and /v1/rerank (the latter also answers Jina-style requests).
//
// Request:  {model, query, documents: [string | {"text": string}], top_n?, max_tokens_per_doc?,
//            return_documents?, chunking?}
// Response: {id, results: [{index, relevance_score, document?: {text}}], meta: {api_version: {version},
//            billed_units: {search_units}}} (v1 adds "model" and "usage" for Jina clients).
// relevance_score = sigmoid(first logit), whatever the model's own activation, as Cohere's scores are in [0, 1].
#include <random>

#include "server/state.hpp"

namespace rerank::server {

namespace {

std::string request_id() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  const uint64_t a = rng(), b = rng();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

void cohere_rerank(State& st, const httplib::Request& req, httplib::Response& res, int version) {
  const Json body = parse_body(req.body);
  const std::string query = require_string(body, "query");
  const std::vector<std::string> docs = parse_texts(body, "documents", true, st.options.max_documents);
  const auto top_n = optional_int(body, "top_n", 1);
  const auto max_tokens = optional_int(body, "max_tokens_per_doc", 1);
  const bool return_documents = optional_bool(body, "return_documents", false);
  PairOptions po;
  po.chunking = optional_bool(body, "chunking", st.options.chunking);
  po.chunk_overlap = st.options.chunk_overlap;
  if (max_tokens) po.max_tokens_per_doc = static_cast<size_t>(*max_tokens);
  read_template_fields(body, po);
  ServedModel& m = pick_model(st.models, optional_string(body, "model"), true);
  if (m.model->info().num_labels != 1)
    throw ApiError(422, "model '" + m.name + "' has " + std::to_string(m.model->info().num_labels) +
                            " labels; reranking needs a one-label cross-encoder");
  Scored s = score_documents(st, m, query, docs, po);
  OJson results = OJson::array();
  for (size_t i : ranking(s.logits, top_n ? static_cast<size_t>(*top_n) : 0)) {
    OJson r;
    r["index"] = i;
    r["relevance_score"] = sigmoid(s.logits[i]);
    if (return_documents) r["document"] = OJson{{"text", docs[i]}};
    results.push_back(std::move(r));
  }
  OJson out;
  out["id"] = request_id();
  out["results"] = std::move(results);
  OJson meta;
  meta["api_version"] = OJson{{"version", std::to_string(version)}};
  meta["billed_units"] = OJson{{"search_units", (docs.size() + 99) / 100}};
  out["meta"] = std::move(meta);
  if (version == 1) {
    out["model"] = m.name;
    out["usage"] = OJson{{"total_tokens", s.tokens}};
  }
  reply(res, out);
}

}  // namespace

void register_cohere_routes(Routes& http, State& st) {
  http.Post("/v2/rerank", guarded([&st](const httplib::Request& req, httplib::Response& res) { cohere_rerank(st, req, res, 2); }));
  http.Post("/v1/rerank", guarded([&st](const httplib::Request& req, httplib::Response& res) { cohere_rerank(st, req, res, 1); }));
}

}  // namespace rerank::server

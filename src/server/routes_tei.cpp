// routes_tei.cpp — Hugging Face text-embeddings-inference shapes:
//   POST /rerank   {query, texts, truncate?, raw_scores?, return_text?, model?} -> [{index, score, text?}] sorted
//   POST /embed    {inputs: string | [string], normalize? (true), truncate?, model?} -> [[float]]
//   POST /predict  {inputs: string | [a, b] | [string | [a, b]], raw_scores?, truncate?, model?}
//                  -> [{score, label}] (one input) or [[{score, label}]] (a batch), labels by score
//   POST /tokenize {inputs: string | [string], add_special_tokens? (true), model?}
//                  -> [[{id, text, special, start, stop}]] (start/stop are null: no offsets are tracked)
//   GET /info, /health, /metrics (Prometheus text)
// truncate defaults to false as in TEI: an input longer than the model's maximum is a 413.
#include <cmath>

#include "server/state.hpp"

namespace rerank::server {

namespace {

std::vector<std::string> string_or_list(const Json& body, const char* key, size_t max_items) {
  auto it = body.find(key);
  if (it != body.end() && it->is_string()) return {it->get<std::string>()};
  return parse_texts(body, key, false, max_items);
}

void tei_rerank(State& st, const httplib::Request& req, httplib::Response& res) {
  const Json body = parse_body(req.body);
  const std::string query = require_string(body, "query");
  const auto texts = parse_texts(body, "texts", false, st.options.max_documents);
  const bool raw = optional_bool(body, "raw_scores", false);
  const bool return_text = optional_bool(body, "return_text", false);
  PairOptions po;
  po.truncate = optional_bool(body, "truncate", false);
  po.chunking = optional_bool(body, "chunking", st.options.chunking);
  po.chunk_overlap = st.options.chunk_overlap;
  if (auto mt = optional_int(body, "max_tokens_per_doc", 1)) po.max_tokens_per_doc = static_cast<size_t>(*mt);
  read_template_fields(body, po);
  ServedModel& m = pick_model(st.models, optional_string(body, "model"), true);
  if (m.model->info().num_labels != 1)
    throw ApiError(422, "model '" + m.name + "' has " + std::to_string(m.model->info().num_labels) +
                            " labels; reranking needs a one-label cross-encoder");
  Scored s = score_documents(st, m, query, texts, po);
  OJson out = OJson::array();
  for (size_t i : ranking(s.logits, 0)) {
    OJson r;
    r["index"] = i;
    r["score"] = raw ? static_cast<double>(s.logits[i]) : sigmoid(s.logits[i]);
    if (return_text) r["text"] = texts[i];
    out.push_back(std::move(r));
  }
  reply(res, out);
}

void tei_embed(State& st, const httplib::Request& req, httplib::Response& res) {
  const Json body = parse_body(req.body);
  const auto inputs = string_or_list(body, "inputs", st.options.max_documents);
  const bool normalize = optional_bool(body, "normalize", true);
  const bool truncate = optional_bool(body, "truncate", false);
  ServedModel& m = pick_model(st.models, optional_string(body, "model"), false);
  size_t tokens = 0;
  auto encs = make_texts(m, inputs, truncate, st.options.max_request_tokens, &tokens);
  RequestContext& ctx = request_context();
  ctx.model = m.name;
  auto embs = m.scheduler->run(std::move(encs), &ctx.batch);
  ctx.batched = true;
  OJson out = OJson::array();
  for (auto& e : embs) {
    if (normalize) {
      double n = 0;
      for (float v : e) n += static_cast<double>(v) * v;
      n = std::sqrt(n);
      if (n > 0)
        for (float& v : e) v = static_cast<float>(v / n);
    }
    out.push_back(e);
  }
  reply(res, out);
}

void tei_predict(State& st, const httplib::Request& req, httplib::Response& res) {
  const Json body = parse_body(req.body);
  auto it = body.find("inputs");
  if (it == body.end() || it->is_null()) throw ApiError(422, "field \"inputs\" is required");
  // A sequence is a string or a [a, b] pair; inputs is one sequence or a list of them.
  struct Seq {
    std::string a, b;
    bool pair = false;
  };
  auto as_seq = [](const Json& j, Seq& s) {
    if (j.is_string()) {
      s.a = j.get<std::string>();
      return true;
    }
    if (j.is_array() && j.size() == 2 && j[0].is_string() && j[1].is_string()) {
      s.a = j[0].get<std::string>();
      s.b = j[1].get<std::string>();
      s.pair = true;
      return true;
    }
    if (j.is_array() && j.size() == 1 && j[0].is_string()) {
      s.a = j[0].get<std::string>();
      return true;
    }
    return false;
  };
  std::vector<Seq> seqs;
  bool single = false;
  Seq one;
  if (as_seq(*it, one)) {
    seqs.push_back(one);
    single = true;
  } else if (it->is_array()) {
    if (it->empty()) throw ApiError(422, "field \"inputs\" must not be empty");
    if (it->size() > st.options.max_documents)
      throw ApiError(413, "field \"inputs\" has " + std::to_string(it->size()) + " items; at most " +
                              std::to_string(st.options.max_documents) + " are allowed per request");
    for (size_t i = 0; i < it->size(); ++i) {
      Seq s;
      if (!as_seq((*it)[i], s))
        throw ApiError(422, "inputs[" + std::to_string(i) + "] must be a string or a [string, string] pair");
      seqs.push_back(std::move(s));
    }
  } else {
    throw ApiError(422, "field \"inputs\" must be a string, a [string, string] pair or a list of them");
  }
  const bool raw = optional_bool(body, "raw_scores", false);
  const bool truncate = optional_bool(body, "truncate", false);
  ServedModel& m = pick_model(st.models, optional_string(body, "model"), true);
  const Tokenizer& tok = m.model->tokenizer();
  const size_t max_len = m.model->info().max_length;
  std::vector<Encoding> encs;
  size_t tokens = 0;
  for (size_t i = 0; i < seqs.size(); ++i) {
    Encoding e = seqs[i].pair ? tok.encode_pair(seqs[i].a, seqs[i].b, truncate ? max_len : 0)
                              : tok.encode(seqs[i].a, truncate ? max_len : max_len + 1);
    if (e.ids.size() > max_len)
      throw ApiError(413, "inputs[" + std::to_string(i) + "] has more than " + std::to_string(max_len) +
                              " tokens, the model's maximum (set \"truncate\": true)");
    tokens += e.ids.size();
    if (tokens > st.options.max_request_tokens)
      throw ApiError(413, "the request needs more than " + std::to_string(st.options.max_request_tokens) + " tokens");
    e.tokens.clear();
    encs.push_back(std::move(e));
  }
  RequestContext& ctx = request_context();
  ctx.model = m.name;
  auto logits = m.scheduler->run(std::move(encs), &ctx.batch);
  ctx.batched = true;
  OJson out = OJson::array();
  for (const auto& l : logits) {
    std::vector<double> sc(l.begin(), l.end());
    if (!raw) {
      if (sc.size() == 1) {
        sc[0] = sigmoid(sc[0]);
      } else {
        double mx = -INFINITY, sum = 0;
        for (double v : sc) mx = std::max(mx, v);
        for (double& v : sc) sum += (v = std::exp(v - mx));
        for (double& v : sc) v /= sum;
      }
    }
    std::vector<float> keys(sc.begin(), sc.end());
    OJson labels = OJson::array();
    for (size_t k : ranking(keys, 0)) labels.push_back(OJson{{"score", sc[k]}, {"label", "LABEL_" + std::to_string(k)}});
    out.push_back(std::move(labels));
  }
  reply(res, single ? out[0] : out);
}

void tei_tokenize(State& st, const httplib::Request& req, httplib::Response& res) {
  const Json body = parse_body(req.body);
  const auto inputs = string_or_list(body, "inputs", st.options.max_documents);
  const bool special = optional_bool(body, "add_special_tokens", true);
  ServedModel& m = pick_any_model(st.models, optional_string(body, "model"));
  const Tokenizer& tok = m.model->tokenizer();
  OJson out = OJson::array();
  size_t total = 0;
  for (const auto& text : inputs) {
    Encoding e = tok.encode(text, 0);
    total += e.ids.size();
    if (total > st.options.max_request_tokens)
      throw ApiError(413, "the request has more than " + std::to_string(st.options.max_request_tokens) + " tokens");
    OJson toks = OJson::array();
    for (size_t i = 0; i < e.ids.size(); ++i) {
      const bool is_special = i == 0 || i + 1 == e.ids.size();
      if (is_special && !special) continue;
      toks.push_back(OJson{{"id", e.ids[i]}, {"text", e.tokens[i]}, {"special", is_special}, {"start", nullptr}, {"stop", nullptr}});
    }
    out.push_back(std::move(toks));
  }
  reply(res, out);
}

void tei_info(State& st, const httplib::Request&, httplib::Response& res) {
  if (st.models.empty()) throw ApiError(404, "no model is served here (only a collection, for POST /search)");
  const ServedModel& first = *st.models.front();
  auto model_type = [](const ServedModel& m) {
    OJson t;
    if (m.cross) {
      OJson id2label, label2id;
      for (int i = 0; i < m.model->info().num_labels; ++i) {
        id2label[std::to_string(i)] = "LABEL_" + std::to_string(i);
        label2id["LABEL_" + std::to_string(i)] = i;
      }
      t["reranker"] = OJson{{"id2label", id2label}, {"label2id", label2id}};
    } else {
      const auto& p = m.model->info().pooling;
      t["embedding"] = OJson{{"pooling", p.empty() ? std::string("cls") : p.front()}};
    }
    return t;
  };
  OJson out;
  out["model_id"] = first.name;
  out["model_sha"] = nullptr;
  out["model_dtype"] = precision_name(st.options.precision);
  out["model_type"] = model_type(first);
  out["max_concurrent_requests"] = st.options.max_concurrent;
  out["max_input_length"] = first.model->info().max_length;
  out["max_batch_tokens"] = st.options.max_batch_tokens;
  out["max_batch_requests"] = nullptr;
  out["max_client_batch_size"] = st.options.max_documents;
  out["auto_truncate"] = false;
  out["tokenization_workers"] = st.options.max_concurrent;
  out["version"] = "rerank 0.1.0";
  OJson models = OJson::array();
  for (const auto& m : st.models) {
    OJson j;
    j["name"] = m->name;
    j["source"] = m->source;
    j["kind"] = m->cross ? "cross-encoder" : "bi-encoder";
    j["model_type"] = model_type(*m);
    j["max_input_length"] = m->model->info().max_length;
    if (!m->cross) j["dimension"] = m->model->info().embedding_dim();
    models.push_back(std::move(j));
  }
  out["models"] = std::move(models);
  out["batching"] = st.options.batching;
  reply(res, out);
}

}  // namespace

void register_tei_routes(Routes& http, State& st) {
  http.Post("/rerank", guarded([&st](const httplib::Request& q, httplib::Response& r) { tei_rerank(st, q, r); }));
  http.Post("/embed", guarded([&st](const httplib::Request& q, httplib::Response& r) { tei_embed(st, q, r); }));
  http.Post("/predict", guarded([&st](const httplib::Request& q, httplib::Response& r) { tei_predict(st, q, r); }));
  http.Post("/tokenize", guarded([&st](const httplib::Request& q, httplib::Response& r) { tei_tokenize(st, q, r); }));
  http.Get("/info", guarded([&st](const httplib::Request& q, httplib::Response& r) { tei_info(st, q, r); }));
  http.Get("/health", [](const httplib::Request&, httplib::Response& r) { r.status = 200; r.set_content("", "text/plain"); });
  http.Get("/metrics", [&st](const httplib::Request&, httplib::Response& r) {
    r.set_content(st.metrics.render(), "text/plain; version=0.0.4; charset=utf-8");
  });
}

}  // namespace rerank::server

// An OpenSearch index as a first stage (see rerank/opensearch.hpp): the connection (options, environment,
// authentication, errors), the index body, BM25 by `match`, dense by `knn` or an exact Painless script_score.
#include <openssl/evp.h>

#include <cmath>
#include <cstdlib>

#include "index/vectors.hpp"
#include "retrieval/opensearch_conn.hpp"
#include "rerank/error.hpp"
#include "util/files.hpp"

namespace rerank {

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string base64(const std::string& s) {
  std::string out(4 * ((s.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(s.data()),
                                static_cast<int>(s.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

/// Lowercase letters, digits, '-', '_', '.', '+'; not starting with '-', '_', '+' or '.'; at most 255 bytes
/// (OpenSearch's own rules, checked here because the name becomes part of URLs).
void check_index_name(const std::string& name) {
  if (name.empty()) throw InputError("OpenSearch: no index name (give --index NAME or set RERANK_OPENSEARCH_INDEX)");
  bool ok = name.size() <= 255 && name != "." && name != ".." && std::string("-_+.").find(name[0]) == std::string::npos;
  for (char c : name) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '+');
  if (!ok)
    throw InputError("OpenSearch index name \"" + http::sanitize(name, 80) +
                     "\" is invalid: lowercase letters, digits, '-', '_', '.', '+' only, not starting with '-', '_', '+' or '.'");
}

double env_seconds(const char* var) {
  const std::string v = env(var);
  if (v.empty()) return 0;
  char* end = nullptr;
  const double s = std::strtod(v.c_str(), &end);
  if (!end || *end || !(s > 0) || !std::isfinite(s)) throw InputError(std::string("$") + var + " = \"" + v + "\": expected a positive number of seconds");
  return s;
}

}  // namespace

OpenSearchOptions OpenSearchOptions::with_environment() const {
  OpenSearchOptions o = *this;
  if (o.url.empty()) o.url = env("RERANK_OPENSEARCH_URL");
  if (o.index.empty()) o.index = env("RERANK_OPENSEARCH_INDEX");
  if (o.user.empty()) o.user = env("RERANK_OPENSEARCH_USER");
  if (o.password.empty()) o.password = env("RERANK_OPENSEARCH_PASSWORD");
  if (o.api_key.empty()) o.api_key = env("RERANK_OPENSEARCH_API_KEY");
  if (o.ca_cert.empty()) o.ca_cert = env("RERANK_OPENSEARCH_CA_CERT");
  if (!o.insecure) {
    const std::string v = env("RERANK_OPENSEARCH_INSECURE");
    if (v == "1" || v == "true") o.insecure = true;
    else if (!v.empty() && v != "0" && v != "false")
      throw InputError("$RERANK_OPENSEARCH_INSECURE = \"" + v + "\": expected 1/true or 0/false");
  }
  if (!(o.timeout_seconds > 0)) o.timeout_seconds = env_seconds("RERANK_OPENSEARCH_TIMEOUT");
  if (!(o.timeout_seconds > 0)) o.timeout_seconds = 30;
  if (o.url.empty()) throw InputError("OpenSearch: no URL (give --opensearch URL or set RERANK_OPENSEARCH_URL)");
  o.url = http::normalize_base_url(o.url, "OpenSearch");
  check_index_name(o.index);
  if (!o.api_key.empty() && !o.user.empty())
    throw InputError("OpenSearch: give either a user (basic authentication) or an API key, not both");
  if (o.user.find(':') != std::string::npos) throw InputError("OpenSearch: the user name must not contain ':'");
  if (o.max_attempts < 1) throw InputError("OpenSearch: max_attempts must be at least 1");
  if (!(o.k1 >= 0) || !(o.b >= 0 && o.b <= 1)) throw InputError("OpenSearch: BM25 needs k1 >= 0 and b in [0, 1]");
  if (o.shards < 1) throw InputError("OpenSearch: at least one shard");
  return o;
}

namespace opensearch {

Conn::Conn(const OpenSearchOptions& o) : o_(o), client_({o.timeout_seconds, o.max_attempts, o.backoff_seconds, 60, false}, "OpenSearch") {
  if (!o_.user.empty()) auth_.push_back("Authorization: Basic " + base64(o_.user + ":" + o_.password));
  if (!o_.api_key.empty()) auth_.push_back("Authorization: ApiKey " + o_.api_key);
}

http::Request Conn::request(const std::string& method, const std::string& path, const std::string& body,
                            const std::string& content_type) const {
  http::Request q;
  q.method = method;
  q.url = o_.url + path;
  q.body = body;
  q.headers = {"Accept: application/json"};
  if (!body.empty()) q.headers.push_back("Content-Type: " + content_type);
  q.headers.insert(q.headers.end(), auth_.begin(), auth_.end());
  q.verify_tls = !o_.insecure;
  q.ca_file = o_.ca_cert;
  return q;
}

nlohmann::json Conn::call(const std::string& method, const std::string& path, const std::string& body,
                          const std::string& content_type) {
  http::Response r = client_.send(request(method, path, body, content_type));
  return http::parse_json(r, "OpenSearch", o_.url + path);
}

long Conn::probe(const std::string& method, const std::string& path, nlohmann::json* out) {
  http::Response r = client_.perform(request(method, path, "", ""));
  if (!r.error.empty()) throw RemoteError("OpenSearch at " + o_.url + path + ": " + r.error);
  if (out) *out = util::parse_json_or_discard(r.body);
  return r.status;
}

IndexInfo Conn::info() {
  nlohmann::json j = call("GET", "/" + o_.index + "/_mapping");
  const std::string at = o_.url + "/" + o_.index + "/_mapping";
  if (!j.is_object() || j.size() != 1)
    throw RemoteError("OpenSearch at " + at + ": expected the mapping of one index, got " + std::to_string(j.size()) +
                      " (an alias over several indices cannot be searched as one collection)");
  IndexInfo info;
  info.name = j.begin().key();
  const nlohmann::json& m = j.begin().value()["mappings"];
  if (!m.is_object()) throw RemoteError("OpenSearch at " + at + ": malformed answer: no \"mappings\" object");
  auto props = m.find("properties");
  if (props == m.end() || !props->is_object() || !props->contains("content"))
    throw InputError("OpenSearch index \"" + o_.index + "\" at " + o_.url +
                     " has no \"content\" field: it was not made by `rerank index --to opensearch`");
  if (auto e = props->find("embedding"); e != props->end() && e->is_object() && e->contains("type") && (*e)["type"].is_string())
    info.vector_type = (*e)["type"].get<std::string>();
  if (auto meta = m.find("_meta"); meta != m.end() && meta->is_object()) {
    if (auto e = meta->find("embedder"); e != meta->end() && e->is_string()) info.embedder = e->get<std::string>();
    if (auto d = meta->find("dimension"); d != meta->end() && d->is_number_unsigned()) info.dimension = d->get<size_t>();
    if (auto k = meta->find("k1"); k != meta->end() && k->is_number() && k->get<double>() >= 0) info.k1 = k->get<double>();
  }
  if (!info.vector_type.empty() && (info.embedder.empty() || info.dimension == 0))
    throw InputError(where() + ": the mapping's _meta records no embedder/dimension for its \"embedding\" field");
  return info;
}

bool Conn::has_knn_plugin() {
  nlohmann::json j = call("GET", "/_cat/plugins?format=json");
  if (!j.is_array()) return false;
  for (const auto& p : j)
    if (p.is_object() && p.contains("component") && p["component"].is_string() &&
        p["component"].get<std::string>().find("knn") != std::string::npos)
      return true;
  return false;
}

nlohmann::json index_body(const OpenSearchOptions& o, size_t dimension, const std::string& embedder, bool knn) {
  nlohmann::json settings = {
      {"number_of_shards", o.shards},
      {"number_of_replicas", o.replicas},
      {"similarity", {{"rerank_bm25", {{"type", "BM25"}, {"k1", o.k1}, {"b", o.b}}}}},
      {"analysis",
       {{"filter",
         {{"rerank_possessive", {{"type", "stemmer"}, {"language", "possessive_english"}}},
          {"rerank_stop", {{"type", "stop"}, {"stopwords", "_english_"}}}}},
        {"analyzer",
         {{"rerank_english",
           {{"type", "custom"}, {"tokenizer", "standard"}, {"filter", {"rerank_possessive", "lowercase", "rerank_stop", "porter_stem"}}}}}}}}};
  if (knn && dimension) settings["knn"] = true;
  nlohmann::json props = {
      {"content", {{"type", "text"}, {"analyzer", "rerank_english"}, {"similarity", "rerank_bm25"}}},
      {"title", {{"type", "text"}, {"index", false}}},
      {"text", {{"type", "text"}, {"index", false}}},
      {"metadata", {{"type", "object"}, {"enabled", false}}}};
  nlohmann::json meta = {{"created_by", "rerank"}, {"k1", o.k1}, {"b", o.b}};
  if (dimension) {
    meta["embedder"] = embedder;
    meta["dimension"] = dimension;
    if (knn)
      props["embedding"] = {{"type", "knn_vector"}, {"dimension", dimension},
                            {"method", {{"name", "hnsw"}, {"space_type", "cosinesimil"}, {"engine", "lucene"}}}};
    else
      props["embedding"] = {{"type", "float"}, {"index", false}, {"doc_values", false}};
  }
  return {{"settings", {{"index", settings}}},
          {"mappings", {{"_meta", meta}, {"_source", {{"excludes", nlohmann::json::array({"content"})}}}, {"properties", props}}}};
}

}  // namespace opensearch

namespace {

// 1 + dot(q, v) over the document's _source vector (both L2-normalised: 1 + cosine, never negative as
// script_score requires); 0 for a document without one (dropped from the hits).
constexpr const char* kExactScript =
    "def v = params['_source']['embedding']; if (v == null) { return 0.0; } "
    "double d = 0.0; for (int i = 0; i < v.size(); ++i) { d += params.q[i] * v[i]; } return 1.0 + d;";

class OpenSearchFirstStage : public FirstStage {
 public:
  OpenSearchFirstStage(const OpenSearchOptions& o, std::shared_ptr<Embedder> embedder, EngineOptions engine)
      : conn_(o), embedder_(std::move(embedder)), engine_(engine) {
    info_ = conn_.info();
  }

  std::vector<Hit> search_bm25(const std::string& query, size_t k, bool per_passage) override {
    check(k, per_passage);
    nlohmann::json body = {{"size", k}, {"_source", {"title", "text"}}, {"track_total_hits", false},
                           {"query", {{"match", {{"content", {{"query", query}}}}}}}};
    // OpenSearch's BM25 keeps the (k1 + 1) factor Lucene 8+ dropped: divided out, the scores are ours
    return hits(search(body, true), 0.0f, static_cast<float>(1.0 / (1.0 + info_.k1)));
  }

  std::vector<Hit> search_dense(const std::string& query, size_t k, bool per_passage) override {
    check(k, per_passage);
    if (info_.vector_type.empty())
      throw InputError(conn_.where() + " has no embeddings: index it with --bi-encoder for dense or hybrid search");
    std::vector<float> q = query_vector(query);
    nlohmann::json body = {{"size", k}, {"_source", {"title", "text"}}, {"track_total_hits", false}};
    if (info_.vector_type == "knn_vector") {
      body["query"] = {{"knn", {{"embedding", {{"vector", q}, {"k", k}}}}}};
      return hits(search(body, false), -1.0f, 2.0f);  // Lucene cosine: (1 + cos) / 2
    }
    if (info_.vector_type != "float")
      throw InputError(conn_.where() + ": unsupported \"embedding\" field type " + info_.vector_type);
    nlohmann::json script = {{"source", kExactScript}, {"params", {{"q", q}}}};
    nlohmann::json all = {{"match_all", nlohmann::json::object()}};
    body["query"] = {{"script_score", {{"query", all}, {"script", script}}}};
    return hits(search(body, false), -1.0f, 1.0f);
  }

  std::string passage_text(int64_t passage) override {
    if (passage < 0 || static_cast<size_t>(passage) >= texts_.size())
      throw Error("OpenSearch first stage: unknown passage handle " + std::to_string(passage));
    return texts_[static_cast<size_t>(passage)];
  }

  size_t size() override {
    nlohmann::json j = conn_.call("GET", "/" + conn_.options().index + "/_count");
    if (!j.is_object() || !j.contains("count") || !j["count"].is_number_unsigned())
      throw RemoteError("OpenSearch at " + conn_.url("/" + conn_.options().index + "/_count") + ": malformed answer: no count");
    return j["count"].get<size_t>();
  }

  std::string describe() const override { return conn_.options().url + "/" + conn_.options().index; }

  void begin_query() override {
    if (texts_.size() > 100000) texts_.clear();  // handles of earlier queries are not used again
  }

 private:
  void check(size_t k, bool per_passage) const {
    if (per_passage) throw InputError("OpenSearch first stage: per-passage results are not supported (one OpenSearch document per document)");
    if (k == 0 || k > 10000) throw InputError("OpenSearch first stage: k must be in 1..10000 (index.max_result_window)");
  }

  std::vector<float> query_vector(const std::string& query) {
    if (!embedder_) embedder_ = embedder_from_identity(info_.embedder, engine_);
    auto v = embedder_->embed({query}, EmbedKind::Query);
    if (v.size() != 1 || v[0].size() != info_.dimension)
      throw InputError(conn_.where() + " holds " + std::to_string(info_.dimension) + "-d embeddings (" + info_.embedder +
                       "); the query embedder " + embedder_->identity() + " gives " +
                       std::to_string(v.empty() ? 0 : v[0].size()));
    index::normalize(v[0]);
    return v[0];
  }

  nlohmann::json search(const nlohmann::json& body, bool dfs) {
    const std::string path = "/" + conn_.options().index + "/_search" + (dfs ? "?search_type=dfs_query_then_fetch" : "");
    return conn_.call("POST", path, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }

  /// hits.hits -> Hit (score = _score * scale + shift), caching each hit's text for passage_text.
  std::vector<Hit> hits(const nlohmann::json& j, float shift, float scale) {
    const std::string at = conn_.url("/" + conn_.options().index + "/_search");
    auto bad = [&](const std::string& what) { throw RemoteError("OpenSearch at " + at + ": malformed answer: " + what); };
    if (!j.is_object() || !j.contains("hits") || !j["hits"].is_object() || !j["hits"].contains("hits") || !j["hits"]["hits"].is_array())
      bad("no hits.hits list");
    std::vector<Hit> out;
    for (const auto& h : j["hits"]["hits"]) {
      if (!h.is_object() || !h.contains("_id") || !h["_id"].is_string()) bad("a hit without a string _id");
      if (!h.contains("_score") || !h["_score"].is_number()) bad("hit " + h["_id"].get<std::string>() + " has no numeric _score");
      const float raw = h["_score"].get<float>();
      if (shift < 0 && scale == 1.0f && raw <= 0) continue;  // exact script: a document without a vector
      std::string title, text;
      if (auto s = h.find("_source"); s != h.end() && s->is_object()) {
        if (auto t = s->find("title"); t != s->end() && t->is_string()) title = t->get<std::string>();
        if (auto t = s->find("text"); t != s->end() && t->is_string()) text = t->get<std::string>();
      }
      Hit hit;
      hit.doc_id = h["_id"].get<std::string>();
      hit.passage = static_cast<int64_t>(texts_.size());
      hit.score = raw * scale + shift;
      texts_.push_back(opensearch::content_of(title, text));
      out.push_back(std::move(hit));
    }
    return out;
  }

  opensearch::Conn conn_;
  opensearch::IndexInfo info_;
  std::shared_ptr<Embedder> embedder_;
  EngineOptions engine_;
  std::vector<std::string> texts_;
};

}  // namespace

std::shared_ptr<FirstStage> open_opensearch(const OpenSearchOptions& options, std::shared_ptr<Embedder> embedder,
                                            EngineOptions engine) {
  return std::make_shared<OpenSearchFirstStage>(options.with_environment(), std::move(embedder), engine);
}

}  // namespace rerank

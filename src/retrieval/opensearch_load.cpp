// Bulk loading into an OpenSearch index (see rerank/opensearch.hpp): index creation, resumable _bulk batches,
// 429 retries per item.
#include <chrono>
#include <thread>
#include <unordered_set>

#include "index/vectors.hpp"
#include "retrieval/opensearch_conn.hpp"
#include "rerank/error.hpp"
#include "util/files.hpp"

namespace rerank {

struct OpenSearchLoader::Impl {
  opensearch::Conn conn;
  std::shared_ptr<Embedder> embedder;
  opensearch::IndexInfo info;

  Impl(const OpenSearchOptions& o, std::shared_ptr<Embedder> e) : conn(o), embedder(std::move(e)) {}

  void open_or_create() {
    const std::string& index = conn.options().index;
    const long status = conn.probe("HEAD", "/" + index);
    if (status == 404) {
      const size_t dim = embedder ? embedder->dimension() : 0;
      const bool knn = dim && conn.has_knn_plugin();
      nlohmann::json body = opensearch::index_body(conn.options(), dim, embedder ? embedder->identity() : "", knn);
      try {
        conn.call("PUT", "/" + index, body.dump());
      } catch (const RemoteError& e) {
        // a PUT retried after a timeout whose first attempt went through (or another loader was first): the index
        // exists; its mapping is checked below like any existing index's
        if (e.status() != 400 || std::string(e.what()).find("resource_already_exists_exception") == std::string::npos) throw;
      }
    } else if (status != 200) {
      conn.call("GET", "/" + index);  // throws with OpenSearch's error (401, 403, ...)
    }
    info = conn.info();
    if (embedder && info.vector_type.empty())
      throw InputError(conn.where() + " was created without embeddings; index into a new one to add " + embedder->identity());
    if (embedder && info.embedder != embedder->identity())
      throw InputError(conn.where() + " holds embeddings of " + info.embedder + ", not " + embedder->identity());
    if (!embedder && !info.vector_type.empty())
      embedder = embedder_from_identity(info.embedder, EngineOptions{});
  }

  /// Ids of `ids` already in the index (POST /INDEX/_mget, no _source).
  std::unordered_set<std::string> present(const std::vector<std::string>& ids) {
    nlohmann::json body = {{"ids", ids}};
    nlohmann::json j = conn.call("POST", "/" + conn.options().index + "/_mget?_source=false",
                                 body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    if (!j.is_object() || !j.contains("docs") || !j["docs"].is_array() || j["docs"].size() != ids.size())
      throw RemoteError("OpenSearch at " + conn.url("/" + conn.options().index + "/_mget") + ": malformed answer: expected " +
                        std::to_string(ids.size()) + " docs");
    std::unordered_set<std::string> out;
    for (const auto& d : j["docs"])
      if (d.is_object() && d.value("found", false) && d.contains("_id") && d["_id"].is_string()) out.insert(d["_id"].get<std::string>());
    return out;
  }

  /// One _bulk request of `lines` (action + source pairs, by document position `pos`); returns the positions
  /// rejected with 429 (to send again); counts results; throws RemoteError for any other failed item.
  std::vector<size_t> bulk(const std::vector<size_t>& pos, const std::vector<std::string>& lines,
                           const std::vector<Document>& docs, const char* op, OpenSearchLoadResult& r) {
    std::string body;
    for (size_t p : pos) body += lines[p];
    nlohmann::json j = conn.call("POST", "/_bulk", body, "application/x-ndjson");
    const std::string at = conn.url("/_bulk");
    if (!j.is_object() || !j.contains("items") || !j["items"].is_array() || j["items"].size() != pos.size())
      throw RemoteError("OpenSearch at " + at + ": malformed answer: expected " + std::to_string(pos.size()) + " items");
    std::vector<size_t> again;
    for (size_t i = 0; i < pos.size(); ++i) {
      const nlohmann::json& item = j["items"][i];
      if (!item.is_object() || !item.contains(op) || !item[op].is_object())
        throw RemoteError("OpenSearch at " + at + ": malformed answer: item " + std::to_string(i) + " has no \"" + op + "\"");
      const nlohmann::json& a = item[op];
      const long status = a.value("status", 0L);
      const std::string& id = docs[pos[i]].id;
      if (status == 201 || status == 200) {
        (a.value("result", "") == "updated" ? r.replaced : r.added)++;
      } else if (status == 409 && std::string(op) == "create") {
        r.skipped++;  // added meanwhile (another loader, or a retried request that had gone through)
      } else if (status == 429) {
        again.push_back(pos[i]);
      } else {
        std::string why = a.contains("error") ? http::body_message(nlohmann::json{{"error", a["error"]}}.dump()) : a.dump();
        throw RemoteError("OpenSearch at " + at + ": document \"" + http::sanitize(id, 100) + "\": HTTP " + std::to_string(status) + ": " + why,
                          status);
      }
    }
    return again;
  }
};

OpenSearchLoader::OpenSearchLoader(const OpenSearchOptions& options, std::shared_ptr<Embedder> embedder)
    : impl_(std::make_unique<Impl>(options.with_environment(), std::move(embedder))) {
  impl_->open_or_create();
}

OpenSearchLoader::~OpenSearchLoader() = default;

OpenSearchLoadResult OpenSearchLoader::add(const std::vector<Document>& given, AddMode mode) {
  OpenSearchLoadResult r;
  for (const auto& d : given)
    if (d.id.empty()) throw InputError("a document with an empty id");
  // an id repeated in the batch resolves as across batches (first kept, or last with Replace)
  std::vector<Document> resolved;
  size_t repeated = 0;
  const std::vector<Document>& docs = resolve_repeated_ids(given, mode, resolved, repeated);
  (mode == AddMode::SkipExisting ? r.skipped : r.replaced) += repeated;
  std::vector<std::string> ids;
  for (const auto& d : docs) ids.push_back(d.id);
  if (docs.empty()) return r;
  std::unordered_set<std::string> skip;
  if (mode == AddMode::SkipExisting) skip = impl_->present(ids);
  std::vector<size_t> todo;
  for (size_t i = 0; i < docs.size(); ++i)
    if (!skip.count(docs[i].id)) todo.push_back(i);
  r.skipped += docs.size() - todo.size();
  if (todo.empty()) return r;

  std::vector<std::vector<float>> vectors;
  if (impl_->embedder) {
    std::vector<std::string> texts;
    for (size_t i : todo) texts.push_back(opensearch::content_of(docs[i].title, docs[i].text));
    vectors = impl_->embedder->embed(texts, EmbedKind::Passage);
    if (vectors.size() != texts.size()) throw Error("embedder " + impl_->embedder->identity() + " returned a wrong number of vectors");
  }
  const char* op = mode == AddMode::SkipExisting ? "create" : "index";
  std::vector<std::string> lines(docs.size());
  for (size_t t = 0; t < todo.size(); ++t) {
    const Document& d = docs[todo[t]];
    nlohmann::json action = {{op, {{"_index", impl_->conn.options().index}, {"_id", d.id}}}};
    nlohmann::json src = {{"title", d.title}, {"text", d.text}, {"content", opensearch::content_of(d.title, d.text)}};
    if (!d.metadata.empty()) {
      nlohmann::json m = util::parse_json_or_discard(d.metadata);
      if (m.is_object()) src["metadata"] = m;
    }
    if (impl_->embedder) {
      std::vector<float>& v = vectors[t];
      if (v.size() != impl_->info.dimension)
        throw Error("embedder " + impl_->embedder->identity() + " gave a " + std::to_string(v.size()) + "-d vector, the index holds " +
                    std::to_string(impl_->info.dimension));
      index::normalize(v);
      src["embedding"] = v;
    }
    const auto dump = [](const nlohmann::json& x) { return x.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); };
    lines[todo[t]] = dump(action) + "\n" + dump(src) + "\n";
  }
  const OpenSearchOptions& o = impl_->conn.options();
  double wait = o.backoff_seconds;
  for (int attempt = 1;; ++attempt) {
    todo = impl_->bulk(todo, lines, docs, op, r);
    if (todo.empty()) break;
    if (attempt >= o.max_attempts)
      throw RemoteError("OpenSearch at " + impl_->conn.url("/_bulk") + ": " + std::to_string(todo.size()) +
                            " documents still rejected with HTTP 429 (too many requests) after " + std::to_string(attempt) + " attempts",
                        429);
    r.retried += todo.size();
    std::this_thread::sleep_for(std::chrono::duration<double>(std::min(wait, 60.0)));
    wait *= 2;
  }
  return r;
}

void OpenSearchLoader::refresh() { impl_->conn.call("POST", "/" + impl_->conn.options().index + "/_refresh"); }

size_t OpenSearchLoader::count() {
  nlohmann::json j = impl_->conn.call("GET", "/" + impl_->conn.options().index + "/_count");
  if (!j.is_object() || !j.contains("count") || !j["count"].is_number_unsigned())
    throw RemoteError("OpenSearch at " + impl_->conn.url("/" + impl_->conn.options().index + "/_count") + ": malformed answer: no count");
  return j["count"].get<size_t>();
}

bool OpenSearchLoader::knn() const { return impl_->info.vector_type == "knn_vector"; }
const std::string& OpenSearchLoader::url() const { return impl_->conn.options().url; }

bool delete_opensearch_index(const OpenSearchOptions& options) {
  opensearch::Conn conn(options.with_environment());
  if (conn.probe("HEAD", "/" + conn.options().index) == 404) return false;
  conn.call("DELETE", "/" + conn.options().index);
  return true;
}

}  // namespace rerank

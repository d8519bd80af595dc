// The OpenSearch first stage and loader against a scripted fake transport (http::set_fake_transport): options
// and environment fallbacks, the index body (BM25 k1/b, the English analyzer chain, the vector field), the
// resumable _bulk (present ids skipped, 429 items sent again), authentication headers, TLS verification on by
// default, the query bodies, and errors naming the URL, the status and OpenSearch's type and reason. The real
// cluster is scripts/opensearch/integration_test.sh (ctest opensearch_cluster).
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "clients/http_client.hpp"
#include "rerank/opensearch.hpp"
#include "rerank/pipeline.hpp"
#include "test_util.hpp"

using nlohmann::json;
using namespace rerank;

namespace {

struct Seen {
  std::string method, path, body;
  std::vector<std::string> headers;
  bool verify_tls = true;
};

/// Routes "METHOD /path" (query string dropped) to handlers; records every request.
class FakeOpenSearch {
 public:
  using Handler = std::function<http::Response(const http::Request&)>;
  FakeOpenSearch() {
    http::set_fake_transport([this](const http::Request& q) {
      std::string path = q.url.substr(std::string("http://os.test:9200").size());
      Seen s{q.method, path, q.body, q.headers, q.verify_tls};
      seen.push_back(s);
      const std::string key = q.method + " " + path.substr(0, path.find('?'));
      auto it = routes.find(key);
      if (it == routes.end()) return reply(404, R"({"error":{"type":"no_route","reason":")" + key + R"("},"status":404})");
      return it->second(q);
    });
  }
  ~FakeOpenSearch() { http::set_fake_transport(nullptr); }
  static http::Response reply(long status, const std::string& body) {
    http::Response r;
    r.status = status;
    r.body = body;
    return r;
  }
  std::map<std::string, Handler> routes;
  std::vector<Seen> seen;
};

OpenSearchOptions opts() {
  OpenSearchOptions o;
  o.url = "http://os.test:9200/";
  o.index = "docs";
  o.backoff_seconds = 0.001;
  return o;
}

json mapping(const std::string& vector_type, size_t dim, const std::string& embedder) {
  json props = {{"content", {{"type", "text"}}}, {"title", {{"type", "text"}}}};
  json meta = {{"created_by", "rerank"}};
  if (!vector_type.empty()) {
    props["embedding"] = {{"type", vector_type}};
    meta["embedder"] = embedder;
    meta["dimension"] = dim;
  }
  return {{"docs-000001", {{"mappings", {{"_meta", meta}, {"properties", props}}}}}};
}

/// A deterministic 4-d embedder: counts of 'a', 'e', 'i', 'o' (+1).
class CountEmbedder : public Embedder {
 public:
  std::vector<std::vector<float>> embed(const std::vector<std::string>& texts, EmbedKind) override {
    std::vector<std::vector<float>> out;
    for (const auto& t : texts) {
      std::vector<float> v(4, 1.0f);
      for (char c : t) {
        if (c == 'a') v[0] += 1;
        if (c == 'e') v[1] += 1;
        if (c == 'i') v[2] += 1;
        if (c == 'o') v[3] += 1;
      }
      out.push_back(v);
    }
    return out;
  }
  size_t dimension() const override { return 4; }
  std::string identity() const override { return "test:count"; }
  size_t window_tokens() const override { return 0; }
};

struct EnvGuard {
  std::vector<std::string> names;
  void set(const std::string& n, const std::string& v) {
    names.push_back(n);
    ::setenv(n.c_str(), v.c_str(), 1);
  }
  ~EnvGuard() {
    for (const auto& n : names) ::unsetenv(n.c_str());
  }
};

}  // namespace

TEST(OpenSearch, OptionsFromTheEnvironmentAndChecks) {
  EnvGuard env;
  env.set("RERANK_OPENSEARCH_URL", "https://search.example:9200/");
  env.set("RERANK_OPENSEARCH_INDEX", "scifact");
  env.set("RERANK_OPENSEARCH_USER", "alice");
  env.set("RERANK_OPENSEARCH_TIMEOUT", "7.5");
  OpenSearchOptions o = OpenSearchOptions{}.with_environment();
  EXPECT_EQ(o.url, "https://search.example:9200");
  EXPECT_EQ(o.index, "scifact");
  EXPECT_EQ(o.user, "alice");
  EXPECT_DOUBLE_EQ(o.timeout_seconds, 7.5);
  EXPECT_FALSE(o.insecure);
  OpenSearchOptions given;
  given.url = "http://other:9200";
  given.index = "mine";
  EXPECT_EQ(given.with_environment().url, "http://other:9200");  // flags win over the environment
  EXPECT_EQ(given.with_environment().index, "mine");

  env.set("RERANK_OPENSEARCH_API_KEY", "k");
  EXPECT_THROW(OpenSearchOptions{}.with_environment(), InputError);  // user and API key
  ::unsetenv("RERANK_OPENSEARCH_API_KEY");
  env.set("RERANK_OPENSEARCH_TIMEOUT", "soon");
  try {
    OpenSearchOptions{}.with_environment();
    FAIL() << "a bad timeout passed";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("RERANK_OPENSEARCH_TIMEOUT"), std::string::npos) << e.what();
  }
  ::unsetenv("RERANK_OPENSEARCH_TIMEOUT");
  for (const char* bad : {"Upper", "a/b", "_x", "..", "a b", "q?x"}) {  // "" falls back to the environment's index
    OpenSearchOptions b = opts();
    b.index = bad;
    EXPECT_THROW(b.with_environment(), InputError) << bad;
  }
  ::unsetenv("RERANK_OPENSEARCH_URL");
  ::unsetenv("RERANK_OPENSEARCH_INDEX");
  OpenSearchOptions none;
  try {
    none.with_environment();
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("--opensearch"), std::string::npos) << e.what();
  }
}

TEST(OpenSearch, CreatesTheIndexAndBulkLoadsResumablyRetrying429) {
  FakeOpenSearch os;
  json created;
  os.routes["HEAD /docs"] = [](const http::Request&) { return FakeOpenSearch::reply(404, ""); };
  os.routes["GET /_cat/plugins"] = [](const http::Request&) { return FakeOpenSearch::reply(200, R"([{"name":"n1","component":"analysis-common"}])"); };
  os.routes["PUT /docs"] = [&](const http::Request& q) {
    created = json::parse(q.body);
    return FakeOpenSearch::reply(200, R"({"acknowledged":true})");
  };
  os.routes["GET /docs/_mapping"] = [](const http::Request&) { return FakeOpenSearch::reply(200, mapping("float", 4, "test:count").dump()); };
  os.routes["POST /docs/_mget"] = [](const http::Request& q) {
    json ids = json::parse(q.body)["ids"];
    json docs = json::array();
    for (const auto& id : ids) docs.push_back({{"_id", id}, {"found", id == "d2"}});
    return FakeOpenSearch::reply(200, json{{"docs", docs}}.dump());
  };
  int bulks = 0;
  std::vector<std::vector<std::string>> bulk_ids;
  os.routes["POST /_bulk"] = [&](const http::Request& q) {
    ++bulks;
    json items = json::array();
    std::vector<std::string> ids;
    std::istringstream in(q.body);
    std::string action, source;
    while (std::getline(in, action) && std::getline(in, source)) {
      const std::string id = json::parse(action)["create"]["_id"];
      ids.push_back(id);
      json src = json::parse(source);
      EXPECT_EQ(src["embedding"].size(), 4u);
      double norm = 0;
      for (double x : src["embedding"]) norm += x * x;
      EXPECT_NEAR(norm, 1.0, 1e-6) << "stored vectors are L2-normalised";
      const bool reject = bulks == 1 && id == "d3";
      items.push_back({{"create", {{"_id", id}, {"status", reject ? 429 : 201}, {"result", "created"}}}});
    }
    bulk_ids.push_back(ids);
    return FakeOpenSearch::reply(200, json{{"errors", true}, {"items", items}}.dump());
  };
  OpenSearchOptions o = opts();
  o.user = "user";
  o.password = "pw";
  OpenSearchLoader load(o, std::make_shared<CountEmbedder>());
  // the index body: our BM25 and analyzer, a float-array vector field (no k-NN plugin), _meta
  const json& st = created["settings"]["index"];
  EXPECT_EQ(st["number_of_shards"], 1);
  EXPECT_FLOAT_EQ(st["similarity"]["rerank_bm25"]["k1"].get<float>(), 0.9f);
  EXPECT_FLOAT_EQ(st["similarity"]["rerank_bm25"]["b"].get<float>(), 0.4f);
  EXPECT_EQ(st["analysis"]["analyzer"]["rerank_english"]["filter"],
            json({"rerank_possessive", "lowercase", "rerank_stop", "porter_stem"}));
  EXPECT_FALSE(st.contains("knn"));
  const json& props = created["mappings"]["properties"];
  EXPECT_EQ(props["content"]["similarity"], "rerank_bm25");
  EXPECT_EQ(props["embedding"]["type"], "float");
  EXPECT_EQ(created["mappings"]["_meta"]["embedder"], "test:count");
  EXPECT_EQ(created["mappings"]["_meta"]["dimension"], 4);
  EXPECT_FALSE(load.knn());

  std::vector<Document> docs = {{"d1", "Alpha", "one", ""}, {"d2", "", "two", ""}, {"d3", "Gamma", "three", ""}};
  OpenSearchLoadResult r = load.add(docs);
  EXPECT_EQ(r.added, 2u);
  EXPECT_EQ(r.skipped, 1u);  // d2 was present: not embedded, not sent
  EXPECT_EQ(r.retried, 1u);
  ASSERT_EQ(bulk_ids.size(), 2u);
  EXPECT_EQ(bulk_ids[0], (std::vector<std::string>{"d1", "d3"}));
  EXPECT_EQ(bulk_ids[1], (std::vector<std::string>{"d3"}));  // only the rejected item again
  for (const auto& s : os.seen) {
    EXPECT_TRUE(s.verify_tls);
    EXPECT_NE(std::find(s.headers.begin(), s.headers.end(), "Authorization: Basic dXNlcjpwdw=="), s.headers.end()) << s.path;
  }
  // an id repeated in one batch: sent once, the repeat counted as already present (SkipExisting), as OpenSearch
  // itself answers a second "create" of one id in a _bulk (409)
  bulk_ids.clear();
  r = load.add({{"x", "", "a", ""}, {"x", "", "b", ""}});
  EXPECT_EQ(r.added, 1u);
  EXPECT_EQ(r.skipped, 1u);
  ASSERT_EQ(bulk_ids.size(), 1u);
  EXPECT_EQ(bulk_ids[0], (std::vector<std::string>{"x"}));
  EXPECT_THROW(load.add({{"z", "", "a", ""}, {"", "", "b", ""}}), InputError);  // an empty id
}

TEST(OpenSearch, CreatingTheIndexRetriedAfterItWentThroughIsNotAnError) {
  // a PUT whose first attempt created the index but failed on the way back (here 503: a retryable status; under
  // load, a timeout) is sent again and answered "already exists": the loader goes on with the existing index
  FakeOpenSearch os;
  int puts = 0;
  std::string second_error = "resource_already_exists_exception";
  os.routes["HEAD /docs"] = [](const http::Request&) { return FakeOpenSearch::reply(404, ""); };
  os.routes["PUT /docs"] = [&](const http::Request&) {
    if (++puts == 1) return FakeOpenSearch::reply(503, R"({"error":{"type":"process_cluster_event_timeout_exception","reason":"slow"},"status":503})");
    return FakeOpenSearch::reply(400, json{{"error", {{"type", second_error}, {"reason", "index [docs/abc] already exists"}}}, {"status", 400}}.dump());
  };
  os.routes["GET /docs/_mapping"] = [](const http::Request&) { return FakeOpenSearch::reply(200, mapping("", 0, "").dump()); };
  OpenSearchLoader load(opts(), nullptr);
  EXPECT_EQ(puts, 2);
  EXPECT_FALSE(load.knn());
  // any other 400 on creation is still an error naming OpenSearch's type
  puts = 0;
  second_error = "mapper_parsing_exception";
  try {
    OpenSearchLoader again(opts(), nullptr);
    ADD_FAILURE() << "a rejected index body did not throw";
  } catch (const RemoteError& e) {
    EXPECT_NE(std::string(e.what()).find("mapper_parsing_exception"), std::string::npos) << e.what();
  }
}

TEST(OpenSearch, BulkItemErrorsAndIndexErrorsNameStatusTypeAndReason) {
  FakeOpenSearch os;
  os.routes["HEAD /docs"] = [](const http::Request&) { return FakeOpenSearch::reply(200, ""); };
  os.routes["GET /docs/_mapping"] = [](const http::Request&) { return FakeOpenSearch::reply(200, mapping("", 0, "").dump()); };
  os.routes["POST /docs/_mget"] = [](const http::Request&) { return FakeOpenSearch::reply(200, R"({"docs":[{"_id":"d1","found":false}]})"); };
  os.routes["POST /_bulk"] = [](const http::Request&) {
    return FakeOpenSearch::reply(200, R"({"errors":true,"items":[{"create":{"_id":"d1","status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [title]"}}}]})");
  };
  OpenSearchOptions o = opts();
  o.api_key = "secret";
  OpenSearchLoader load(o, nullptr);
  try {
    load.add({{"d1", "t", "x", ""}});
    FAIL() << "a failed item passed";
  } catch (const RemoteError& e) {
    const std::string m = e.what();
    for (const char* want : {"http://os.test:9200/_bulk", "d1", "HTTP 400", "mapper_parsing_exception: failed to parse field [title]"})
      EXPECT_NE(m.find(want), std::string::npos) << want << " in " << m;
  }
  EXPECT_EQ(os.seen.back().headers.back(), "Authorization: ApiKey secret");
  // an embedder for an index made without embeddings
  EXPECT_THROW(OpenSearchLoader(o, std::make_shared<CountEmbedder>()), InputError);

  os.routes.erase("GET /docs/_mapping");
  os.routes["GET /nope/_mapping"] = [](const http::Request&) {
    return FakeOpenSearch::reply(404, R"({"error":{"root_cause":[],"type":"index_not_found_exception","reason":"no such index [nope]","index":"nope"},"status":404})");
  };
  OpenSearchOptions n = opts();
  n.index = "nope";
  try {
    open_opensearch(n);
    FAIL() << "a missing index opened";
  } catch (const RemoteError& e) {
    const std::string m = e.what();
    EXPECT_EQ(e.status(), 404);
    for (const char* want : {"http://os.test:9200/nope/_mapping", "HTTP 404", "index_not_found_exception: no such index [nope]"})
      EXPECT_NE(m.find(want), std::string::npos) << want << " in " << m;
    EXPECT_EQ(m.find("model name"), std::string::npos) << m;
  }
}

TEST(OpenSearch, SearchBodiesScoresAndTexts) {
  FakeOpenSearch os;
  os.routes["GET /docs/_mapping"] = [](const http::Request&) { return FakeOpenSearch::reply(200, mapping("float", 4, "test:count").dump()); };
  std::vector<json> bodies;
  os.routes["POST /docs/_search"] = [&](const http::Request& q) {
    bodies.push_back(json::parse(q.body));
    if (bodies.back()["query"].contains("match"))
      return FakeOpenSearch::reply(200, R"({"hits":{"hits":[{"_id":"d3","_score":4.5,"_source":{"title":"Gamma","text":"three"}},
                                                         {"_id":"d1","_score":2.25,"_source":{"title":"","text":"one"}}]}})");
    return FakeOpenSearch::reply(200, R"({"hits":{"hits":[{"_id":"d1","_score":1.75,"_source":{"title":"Alpha","text":"one"}},
                                                       {"_id":"d9","_score":0.0,"_source":{"text":"no vector"}}]}})");
  };
  os.routes["GET /docs/_count"] = [](const http::Request&) { return FakeOpenSearch::reply(200, R"({"count":3})"); };
  auto fs = open_opensearch(opts(), std::make_shared<CountEmbedder>());
  auto bm = fs->search_bm25("three things", 7, false);
  ASSERT_EQ(bm.size(), 2u);
  EXPECT_EQ(bm[0].doc_id, "d3");
  EXPECT_NEAR(bm[0].score, 4.5 / 1.9, 1e-5);  // OpenSearch BM25 / (k1 + 1)
  EXPECT_EQ(fs->passage_text(bm[0].passage), "Gamma three");
  EXPECT_EQ(fs->passage_text(bm[1].passage), "one");
  EXPECT_NE(os.seen.back().path.find("search_type=dfs_query_then_fetch"), std::string::npos);
  EXPECT_EQ(bodies[0]["size"], 7);
  EXPECT_EQ(bodies[0]["query"]["match"]["content"]["query"], "three things");

  auto dn = fs->search_dense("aeio", 5, false);
  ASSERT_EQ(dn.size(), 1u);  // the document without a vector (score 0) is dropped
  EXPECT_NEAR(dn[0].score, 0.75f, 1e-6);  // 1 + cosine -> cosine
  const json& script = bodies[1]["query"]["script_score"]["script"];
  ASSERT_EQ(script["params"]["q"].size(), 4u);
  for (double x : script["params"]["q"]) EXPECT_NEAR(x, 0.5, 1e-6);  // (2,2,2,2) normalised
  EXPECT_EQ(fs->size(), 3u);
  EXPECT_EQ(fs->describe(), "http://os.test:9200/docs");
  EXPECT_THROW(fs->search_bm25("x", 5, true), InputError);    // no passages
  EXPECT_THROW(fs->search_bm25("x", 20000, false), InputError);  // beyond max_result_window

  // hybrid through Pipeline: RRF of the two lists, exactly as for a collection
  Pipeline p(fs, {.retriever = Retriever::Hybrid, .k = 3, .top_n = 3});
  auto r = p.search("three");
  std::vector<Hit> l1 = {{"d3", 0, 0, 4.5f}, {"d1", 1, 0, 2.25f}}, l2 = {{"d1", 0, 0, 0.75f}};
  auto want = fuse_rrf({l1, l2}, 60.0f, 3);
  ASSERT_EQ(r.first_stage.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(r.first_stage[i].doc_id, want[i].doc_id);
    EXPECT_FLOAT_EQ(r.first_stage[i].score, want[i].score);
  }
}

TEST(OpenSearch, KnnVectorFieldUsesTheKnnQuery) {
  FakeOpenSearch os;
  os.routes["GET /docs/_mapping"] = [](const http::Request&) { return FakeOpenSearch::reply(200, mapping("knn_vector", 4, "test:count").dump()); };
  json body;
  os.routes["POST /docs/_search"] = [&](const http::Request& q) {
    body = json::parse(q.body);
    return FakeOpenSearch::reply(200, R"({"hits":{"hits":[{"_id":"d1","_score":0.9,"_source":{"text":"one"}}]}})");
  };
  auto fs = open_opensearch(opts(), std::make_shared<CountEmbedder>());
  auto dn = fs->search_dense("aeio", 5, false);
  ASSERT_EQ(dn.size(), 1u);
  EXPECT_NEAR(dn[0].score, 0.8f, 1e-6);  // Lucene cosine (1 + cos) / 2 -> cos
  EXPECT_EQ(body["query"]["knn"]["embedding"]["k"], 5);
  EXPECT_EQ(body["query"]["knn"]["embedding"]["vector"].size(), 4u);
}

TEST(OpenSearch, OpenSearchErrorBodiesInBodyMessage) {
  EXPECT_EQ(http::body_message(R"({"error":{"type":"index_not_found_exception","reason":"no such index [x]"},"status":404})"),
            "index_not_found_exception: no such index [x]");
  EXPECT_EQ(http::body_message(R"({"error":{"type":"illegal_argument_exception"}})"), "illegal_argument_exception");
}

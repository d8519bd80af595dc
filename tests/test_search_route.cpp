// POST /search on an in-process rerank::Server with a collection (fixture corpus embedded with bi-tiny-mean) and
// ce-tiny: the answer equals rerank::Pipeline's with the local models (BM25 and dense), texts on request,
// concurrent requests, bad bodies -> 4xx {"message"}, 404 without a collection, first stage only without a model.
#include <gtest/gtest.h>
#include <httplib.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <thread>

#include "rerank/pipeline.hpp"
#include "rerank/rerank.hpp"
#include "rerank/server.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace rerank;

namespace {

const fs::path kCe = test::data("encoders/models/ce-tiny");
const fs::path kBi = test::data("encoders/models/bi-tiny-mean");
const std::string kQuery = "How do I reset my password?";

/// The fixture corpus, with embeddings (dense = true) or BM25 only.
fs::path make_collection(const std::string& name, bool dense) {
  fs::path d = test::temp_path("rerank-search-route", name);
  auto c = Collection::open_or_create(d);
  if (dense) c.set_embedder(make_bi_encoder_embedder(kBi, {.threads = 1}));
  c.add(test::fixture_documents());
  return d;
}

ServerOptions options(std::vector<std::string> models, const fs::path& collection) {
  ServerOptions o = rerank::test::server_options(std::move(models));
  o.collection = collection.string();
  return o;
}

struct Client {
  explicit Client(int port) : cli("127.0.0.1", port) { cli.set_read_timeout(30, 0); }
  std::pair<int, json> post(const std::string& body) {
    auto r = cli.Post("/search", body, "application/json");
    if (!r) return {0, json()};
    json j = json::parse(r->body, nullptr, false);
    return {r->status, j};
  }
  httplib::Client cli;
};

void expect_same(const json& items, const std::vector<RankedItem>& want, const Collection& c, bool reranked, bool texts) {
  ASSERT_EQ(items.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    const json& x = items[i];
    EXPECT_EQ(x["rank"], want[i].rank);
    EXPECT_EQ(x["id"], want[i].doc_id) << "rank " << i + 1;
    EXPECT_EQ(x["passage"], want[i].passage_index);
    EXPECT_NEAR(x["score"].get<double>(), want[i].score, 1e-5);
    if (reranked) {
      EXPECT_EQ(x["first_stage_rank"], want[i].first_rank);
      EXPECT_NEAR(x["first_stage_score"].get<double>(), want[i].first_score, 1e-5);
    }
    if (texts)
      EXPECT_EQ(x["text"], c.passage_text(want[i].passage));
    else
      EXPECT_FALSE(x.contains("text"));
  }
}

}  // namespace

TEST(SearchRoute, AnswersEqualThePipelineWithTheLocalModels) {
  const fs::path dir = make_collection("happy", true);
  Server server(options({kCe.string(), kBi.string()}, dir));
  Client http(server.start());
  auto c = Collection::open(dir);
  c.set_embedder(make_bi_encoder_embedder(kBi, {.threads = 1}));
  auto ce = make_reranker(kCe.string(), BackendOptions{.engine = {.threads = 1}});
  struct Case {
    const char* retriever;
    size_t k, top_n;
    bool texts;
  };
  for (const Case& t : {Case{"bm25", 4, 3, true}, Case{"dense", 6, 2, false}, Case{"hybrid", 5, 5, false}}) {
    SCOPED_TRACE(t.retriever);
    Pipeline p(c, {.retriever = parse_retriever(t.retriever), .k = t.k, .top_n = t.top_n}, ce);
    SearchResult want = p.search(kQuery);
    json body = {{"query", kQuery}, {"k", t.k}, {"top_n", t.top_n}, {"retriever", t.retriever}, {"return_documents", t.texts}};
    auto [status, j] = http.post(body.dump());
    ASSERT_EQ(status, 200) << j.dump();
    EXPECT_EQ(j["query"], kQuery);
    EXPECT_EQ(j["retriever"], t.retriever);
    EXPECT_EQ(j["model"], "ce-tiny");
    expect_same(j["results"], want.reranked, c, true, t.texts);
    expect_same(j["first_stage"], want.first_stage, c, false, t.texts);
  }
  // defaults: bm25, k 50, top_n 5
  Pipeline p(c, {.retriever = Retriever::Bm25, .k = 50, .top_n = 5}, ce);
  SearchResult want = p.search("password");
  auto [status, j] = http.post(R"({"query": "password"})");
  ASSERT_EQ(status, 200) << j.dump();
  EXPECT_EQ(j["retriever"], "bm25");
  expect_same(j["results"], want.reranked, c, true, false);
  expect_same(j["first_stage"], want.first_stage, c, false, false);
  // concurrent requests (two collection handles, one batching scheduler) all get the same answer
  std::vector<std::thread> threads;
  std::vector<json> answers(6);
  for (size_t i = 0; i < answers.size(); ++i)
    threads.emplace_back([&, i] {
      Client h(server.port());
      answers[i] = h.post(R"({"query": "password", "retriever": "hybrid"})").second;
    });
  for (auto& t : threads) t.join();
  for (const auto& a : answers) EXPECT_EQ(a["results"], answers[0]["results"]);
  server.stop();
  fs::remove_all(dir);
}

TEST(SearchRoute, BadBodiesAre4xxWithAMessage) {
  const fs::path dir = make_collection("bad", false);
  Server server(options({kCe.string(), kBi.string()}, dir));
  Client http(server.start());
  const std::vector<std::pair<std::string, int>> cases = {
      {"{not json", 400},
      {"[1]", 422},
      {"{}", 422},
      {R"({"query": 5})", 422},
      {R"({"query": "   "})", 422},
      {R"({"query": "q", "k": 0})", 422},
      {R"({"query": "q", "k": "5"})", 422},
      {R"({"query": "q", "k": 1.5})", 422},
      {R"({"query": "q", "k": 100000})", 413},
      {R"({"query": "q", "top_n": -1})", 422},
      {R"({"query": "q", "retriever": "sparse"})", 422},
      {R"({"query": "q", "retriever": 1})", 422},
      {R"({"query": "q", "return_documents": "yes"})", 422},
      {R"({"query": "q", "model": "nope"})", 404},
      {R"({"query": "q", "model": "bi-tiny-mean"})", 422},
      {R"({"query": "q", "retriever": "dense"})", 422},  // the collection has no embeddings
  };
  for (const auto& [body, want] : cases) {
    auto [status, j] = http.post(body);
    EXPECT_EQ(status, want) << body << " -> " << j.dump();
    ASSERT_TRUE(j.is_object()) << body;
    EXPECT_TRUE(j.contains("message") && j["message"].is_string() && !j["message"].get<std::string>().empty()) << body;
  }
  auto [status, j] = http.post(R"({"query": "q", "retriever": "dense"})");
  EXPECT_NE(j["message"].get<std::string>().find("no embeddings"), std::string::npos) << j.dump();
  // still serving after all that
  EXPECT_EQ(http.post(R"({"query": "password"})").first, 200);
  server.stop();
  fs::remove_all(dir);
}

TEST(SearchRoute, NoCollectionIs404AndNoModelMeansFirstStageOnly) {
  {
    Server server(options({kCe.string()}, ""));
    Client http(server.start());
    auto [status, j] = http.post(R"({"query": "password"})");
    EXPECT_EQ(status, 404);
    EXPECT_NE(j["message"].get<std::string>().find("--collection"), std::string::npos) << j.dump();
  }
  const fs::path dir = make_collection("nomodel", false);
  {
    Server server(options({}, dir));
    Client http(server.start());
    auto [status, j] = http.post(R"({"query": "password", "k": 4, "top_n": 2})");
    ASSERT_EQ(status, 200) << j.dump();
    EXPECT_TRUE(j["model"].is_null());
    ASSERT_EQ(j["first_stage"].size(), 4u);
    ASSERT_EQ(j["results"].size(), 2u);
    EXPECT_EQ(j["results"][0]["id"], j["first_stage"][0]["id"]);
    EXPECT_EQ(j["results"][1]["first_stage_rank"], 2);
    // routes that need a model answer 404 with a message, not a crash
    auto r = http.cli.Get("/info");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404);
    r = http.cli.Post("/tokenize", R"({"inputs": "x"})", "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404);
  }
  EXPECT_THROW({ Server s(options({kCe.string()}, dir / "missing")); }, Error);
  EXPECT_THROW({ Server s(options({}, "")); }, InputError);
  fs::remove_all(dir);
}

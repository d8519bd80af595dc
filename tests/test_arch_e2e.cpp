// The new architectures end to end, from text: every golden of tests/data/arch through CrossEncoder / BiEncoder
// (ids identical, values within 1e-4 of sentence-transformers 6), the CLI's predict / embed / rank / index+search,
// and the server's Cohere, TEI, Jina and OpenAI routes with the XLM-R fixtures — unchanged code paths for every
// architecture.
#include <gtest/gtest.h>
#include <httplib.h>

#include <cmath>
#include <map>
#include <sstream>

#include "rerank/rerank.hpp"
#include "rerank/server.hpp"
#include "test_util.hpp"

using nlohmann::json;
using rerank::test::data;

namespace {

constexpr double kTol = 1e-4;  // fp32 against sentence-transformers 6.3 / transformers 5.24

std::map<std::string, std::vector<json>> goldens() {
  std::map<std::string, std::vector<json>> by;
  for (const json& c : rerank::test::read_jsonl(data("arch/golden.jsonl"))) by[c["model"]].push_back(c);
  return by;
}

void expect_close(const json& want, const std::vector<float>& got, const std::string& what) {
  ASSERT_EQ(want.size(), got.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(want[i].get<double>(), got[i], kTol) << what << " [" << i << "]";
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

TEST(ArchText, EveryGoldenFromText) {
  size_t cross = 0, embed = 0;
  for (const auto& [name, cases] : goldens()) {
    auto model = rerank::Model::load(data("arch/models/" + name));
    if (cases.front()["kind"] == "cross-encoder") {
      rerank::CrossEncoder ce(model, {.threads = 2});
      for (const json& c : cases) {
        if (!c.contains("query")) continue;
        rerank::PredictOptions o;
        if (c.contains("max_length")) o.max_length = c["max_length"].get<size_t>();
        auto p = ce.predict({{c["query"].get<std::string>(), c["document"].get<std::string>()}}, o);
        ASSERT_EQ(p.size(), 1u);
        EXPECT_EQ(p[0].encoding.ids, c["input_ids"].get<std::vector<int32_t>>()) << name << ": " << c["query"];
        expect_close(c["logits"], p[0].logits, name + " logits");
        expect_close(c["scores"], p[0].scores, name + " scores");
        ++cross;
      }
    } else {
      rerank::BiEncoder be(model, {.threads = 2});
      for (const json& c : cases) {
        if (!c.contains("text")) continue;
        rerank::EncodeOptions o;
        if (c.contains("max_length")) o.max_length = c["max_length"].get<size_t>();
        auto e = be.encode({c["text"].get<std::string>()}, o);
        ASSERT_EQ(e.size(), 1u);
        expect_close(c["embedding"], e[0], name + " embedding of '" + c["text"].get<std::string>() + "'");
        ++embed;
      }
    }
  }
  EXPECT_GE(cross, 40u);
  EXPECT_GE(embed, 10u);
}

const std::string kXlmrCe = data("arch/models/xlmr-ce").string();
const std::string kXlmrBi = data("arch/models/xlmr-embed").string();
const std::vector<std::string> kDocs = {"Click 'Forgot password' on the sign-in page.", "Le café est servi à midi.",
                                        "Пароль можно сбросить в настройках.", "パスワードを忘れた場合はリンクを押してください。",
                                        "The cafeteria serves lunch at noon."};
const std::string kQuery = "How do I reset my password?";

// The library's raw logits (scores = false) or CrossEncoder.predict scores (the model's activation: Tanh here).
std::vector<float> library_logits(const std::string& q, const std::vector<std::string>& docs, bool scores = false) {
  rerank::CrossEncoder ce(rerank::Model::load(kXlmrCe), {.threads = 1});
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& d : docs) pairs.emplace_back(q, d);
  std::vector<float> out;
  for (const auto& p : ce.predict(pairs)) out.push_back(scores ? p.scores[0] : p.logits[0]);
  return out;
}

TEST(ArchCli, XlmrPredictEmbedRankAndSearch) {
  using rerank::test::run_cli;
  const auto want = library_logits(kQuery, kDocs);
  std::ostringstream pairs;
  for (const auto& d : kDocs) pairs << json{{"query", kQuery}, {"document", d}}.dump() << "\n";
  auto r = run_cli("predict -m " + kXlmrCe, pairs.str());
  ASSERT_EQ(r.status, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  for (size_t i = 0; std::getline(lines, line); ++i)
    EXPECT_NEAR(json::parse(line)["logits"][0].get<double>(), want.at(i), 1e-5) << line;

  r = run_cli("embed -m " + kXlmrBi, json{{"text", kDocs[2]}}.dump() + "\n");
  ASSERT_EQ(r.status, 0) << r.err;
  rerank::BiEncoder be(rerank::Model::load(kXlmrBi), {.threads = 1});
  expect_close(json::parse(r.out)["embedding"], be.encode({kDocs[2]})[0], "cli embed");

  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("rerank-arch-e2e-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    std::ofstream f(dir / "docs.txt");
    for (const auto& d : kDocs) f << d << "\n";
  }
  r = run_cli("rank -m " + kXlmrCe + " --query '" + kQuery + "' --top-k 2 " + (dir / "docs.txt").string(), "");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find(kDocs[std::max_element(want.begin(), want.end()) - want.begin()]), std::string::npos) << r.out;

  // A collection embedded by the XLM-R bi-encoder, searched hybrid and reranked by the XLM-R cross-encoder.
  {
    std::ofstream f(dir / "corpus.jsonl");
    for (size_t i = 0; i < kDocs.size(); ++i) f << json{{"_id", std::string("d").append(std::to_string(i))}, {"text", kDocs[i]}}.dump() << "\n";
  }
  const std::string coll = (dir / "coll").string();
  r = run_cli("index -c " + coll + " --bi-encoder " + kXlmrBi + " " + (dir / "corpus.jsonl").string(), "");
  ASSERT_EQ(r.status, 0) << r.err;
  r = run_cli("search -c " + coll + " --retriever hybrid --k 5 --reranker " + kXlmrCe + " --top-n 5 --json '" + kQuery + "'",
              "");
  ASSERT_EQ(r.status, 0) << r.err;
  const json res = json::parse(r.out);
  ASSERT_TRUE(res.contains("reranked")) << r.out;
  const json& results = res["reranked"];
  ASSERT_EQ(results.size(), kDocs.size()) << r.out;
  const auto want_scores = library_logits(kQuery, kDocs, true);
  for (const json& hit : results) {
    const size_t i = std::stoul(hit["id"].get<std::string>().substr(1));
    EXPECT_NEAR(hit["score"].get<double>(), want_scores[i], 1e-4) << hit.dump();
  }
  fs::remove_all(dir);
}

class ArchServer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new rerank::Server(rerank::test::server_options({kXlmrCe, kXlmrBi}));
    port_ = server_->start();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static httplib::Result post(const std::string& path, const json& body) {
    httplib::Client cli("127.0.0.1", port_);
    cli.set_read_timeout(30, 0);
    return cli.Post(path.c_str(), body.dump(), "application/json");
  }
  static rerank::Server* server_;
  static int port_;
};
rerank::Server* ArchServer::server_ = nullptr;
int ArchServer::port_ = 0;

TEST_F(ArchServer, RerankRoutesMatchTheLibrary) {
  const auto want = library_logits(kQuery, kDocs);
  for (const char* route : {"/v2/rerank", "/v1/rerank"}) {
    auto r = post(route, json{{"model", "xlmr-ce"}, {"query", kQuery}, {"documents", kDocs}});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << route << ": " << r->body;
    const json j = json::parse(r->body);
    ASSERT_EQ(j["results"].size(), kDocs.size());
    for (const json& res : j["results"])
      EXPECT_NEAR(res["relevance_score"].get<double>(), sigmoid(want[res["index"].get<size_t>()]), 1e-5) << route;
  }
  auto r = post("/rerank", json{{"query", kQuery}, {"texts", kDocs}, {"raw_scores", true}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  for (const json& res : json::parse(r->body))
    EXPECT_NEAR(res["score"].get<double>(), want[res["index"].get<size_t>()], 1e-5);
  r = post("/predict", json{{"inputs", {kQuery, kDocs[0]}}, {"raw_scores", true}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
}

// max_tokens_per_doc and chunking work with XLM-R's four-special-token pair template (<s> A </s></s> B </s>).
TEST_F(ArchServer, DocumentCutAndChunkingWithXlmrTemplate) {
  auto model = rerank::Model::load(kXlmrCe);
  const rerank::Tokenizer& tok = model->tokenizer();
  const std::string doc = kDocs[0] + " " + kDocs[4] + " " + kDocs[1];
  auto r = post("/v2/rerank", json{{"query", kQuery}, {"documents", {doc}}, {"max_tokens_per_doc", 6}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  // The same as scoring the pair built from the document's first 6 tokens.
  const std::vector<int32_t> q = tok.encode_ids(kQuery), d = tok.encode_ids(doc);
  ASSERT_GT(d.size(), 6u);
  rerank::CrossEncoder ce(model, {.threads = 1});
  const rerank::Encoding cut = tok.assemble_pair(q, std::vector<int32_t>(d.begin(), d.begin() + 6), 0);
  EXPECT_EQ(cut.ids.size(), q.size() + 6 + tok.num_special_tokens(true));
  const float want = ce.predict_encoded({cut})[0].logits[0];
  EXPECT_NEAR(json::parse(r->body)["results"][0]["relevance_score"].get<double>(), sigmoid(want), 1e-5);
  r = post("/v2/rerank", json{{"query", kQuery}, {"documents", {doc}}, {"chunking", true}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
}

TEST_F(ArchServer, EmbeddingRoutesMatchTheLibrary) {
  rerank::BiEncoder be(rerank::Model::load(kXlmrBi), {.threads = 1});
  const auto want = be.encode({kDocs[1], kDocs[3]});
  auto r = post("/v1/embeddings", json{{"model", "xlmr-embed"}, {"input", {kDocs[1], kDocs[3]}}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  ASSERT_EQ(j["data"].size(), 2u);
  for (size_t i = 0; i < 2; ++i) expect_close(j["data"][i]["embedding"], want[i], "openai embedding");
  r = post("/embed", json{{"inputs", {kDocs[1], kDocs[3]}}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json e = json::parse(r->body);
  ASSERT_EQ(e.size(), 2u);
  expect_close(e[0], want[0], "tei embedding");  // bge-m3 style: already normalized
}

}  // namespace

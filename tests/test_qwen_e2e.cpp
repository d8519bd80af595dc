// Qwen3 / Qwen2 decoders end to end: the CLI's predict (--template, --instruction), rank and embed (--prompt-name)
// and the server's rerank routes (request fields "template" and "instruction") against tests/data/qwen/golden.jsonl.
#include <gtest/gtest.h>
#include <httplib.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "rerank/rerank.hpp"
#include "rerank/server.hpp"
#include "test_util.hpp"

using nlohmann::json;
using rerank::test::data;
using rerank::test::run_cli;

namespace {

constexpr double kTol = 1e-4;

std::vector<json> cases(const std::string& model, const std::string& kind) {
  std::vector<json> out;
  for (const json& c : rerank::test::read_jsonl(data("qwen/golden.jsonl")))
    if (c["model"] == model && c["kind"] == kind) out.push_back(c);
  return out;
}

std::string dir(const std::string& name) { return data("qwen/models/" + name).string(); }

std::vector<json> lines(const std::string& out) {
  std::vector<json> v;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) v.push_back(json::parse(line));
  return v;
}

std::string pairs_input(const std::vector<json>& cs) {
  std::ostringstream s;
  for (const json& c : cs) s << json{{"query", c["query"]}, {"document", c["document"]}}.dump() << "\n";
  return s.str();
}

void expect_scores(const std::vector<json>& cs, const std::string& out, const std::string& what) {
  auto got = lines(out);
  ASSERT_EQ(got.size(), cs.size()) << what << ": " << out;
  for (size_t i = 0; i < cs.size(); ++i) {
    EXPECT_NEAR(got[i]["score"].get<double>(), cs[i]["scores"][0].get<double>(), kTol) << what << " " << i;
    EXPECT_NEAR(got[i]["logits"][0].get<double>(), cs[i]["logits"][0].get<double>(), kTol) << what << " " << i;
  }
}

TEST(QwenCli, PredictTemplatesAndInstruction) {
  auto card = cases("qwen3-reranker", "card");
  std::vector<json> deflt, custom;
  for (const json& c : card) (c.contains("instruction") ? custom : deflt).push_back(c);
  auto r = run_cli("predict --threads 2 -m " + dir("qwen3-reranker"), pairs_input(deflt));
  ASSERT_EQ(r.status, 0) << r.err;
  expect_scores(deflt, r.out, "auto template");
  r = run_cli("predict --threads 2 --instruction 'Given a question, retrieve passages that answer it' -m " + dir("qwen3-reranker"),
              pairs_input(custom));
  ASSERT_EQ(r.status, 0) << r.err;
  expect_scores(custom, r.out, "instruction");
  auto plain = cases("qwen3-reranker", "ce");
  r = run_cli("predict --template none -m " + dir("qwen3-reranker"), pairs_input(plain));
  ASSERT_EQ(r.status, 0) << r.err;
  expect_scores(plain, r.out, "template none");
  auto q2 = cases("qwen2-reranker", "ce");  // auto = plain pairs for Qwen2
  r = run_cli("predict -m " + dir("qwen2-reranker"), pairs_input(q2));
  ASSERT_EQ(r.status, 0) << r.err;
  expect_scores(q2, r.out, "qwen2");
  r = run_cli("predict --template chatml -m " + dir("qwen3-reranker"), pairs_input(plain));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("--template"), std::string::npos) << r.err;
}

TEST(QwenCli, RankUsesTheTemplateAndSharing) {
  auto card = cases("qwen3-reranker", "card");
  const std::string q = card[0]["query"];
  const auto tmp = rerank::test::temp_path("rerank-qwen-e2e", "docs.txt");
  std::vector<std::string> docs;
  {
    std::ofstream f(tmp);
    for (const json& c : card) {
      if (c.contains("instruction")) continue;
      std::string d = c["document"];
      if (d.find('\n') != std::string::npos) continue;
      docs.push_back(d);
      f << d << "\n";
    }
  }
  rerank::CrossEncoder ce(rerank::Model::load(dir("qwen3-reranker")), {.threads = 1, .batch_size = 1, .prefix_sharing = false});
  std::vector<float> want;
  for (const auto& d : docs) want.push_back(ce.predict_scores({{q, d}})[0]);
  auto r = run_cli("rank --json --threads 2 -m " + dir("qwen3-reranker") + " --query '" + q + "' " + tmp.string(), "");
  ASSERT_EQ(r.status, 0) << r.err;
  auto got = lines(r.out);
  ASSERT_EQ(got.size(), docs.size()) << r.out;
  for (const json& g : got) {
    const size_t i = g.contains("index") ? g["index"].get<size_t>() : g["corpus_id"].get<size_t>();
    EXPECT_NEAR(g["score"].get<double>(), want.at(i), 1e-5) << g;
  }
  std::filesystem::remove(tmp);
}

TEST(QwenCli, EmbedWithPromptName) {
  auto emb = cases("qwen3-embedding", "embed");
  std::ostringstream qs, ds;
  std::vector<json> qc, dc;
  for (const json& c : emb) {
    ((c.contains("prompt_name") ? qs : ds) << json{{"text", c["text"]}}.dump() << "\n");
    (c.contains("prompt_name") ? qc : dc).push_back(c);
  }
  for (auto [flags, in, want] : {std::tuple{std::string(" --prompt-name query"), qs.str(), qc}, std::tuple{std::string(""), ds.str(), dc}}) {
    auto r = run_cli("embed --tokens -m " + dir("qwen3-embedding") + flags, in);
    ASSERT_EQ(r.status, 0) << r.err;
    auto got = lines(r.out);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i]["input_ids"], want[i]["input_ids"]) << i;
      for (size_t k = 0; k < got[i]["embedding"].size(); ++k)
        EXPECT_NEAR(got[i]["embedding"][k].get<double>(), want[i]["embedding"][k].get<double>(), kTol) << i << " " << k;
    }
  }
  auto r = run_cli("embed --prompt-name passage -m " + dir("qwen3-embedding"), qs.str());
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("'passage'"), std::string::npos) << r.err;
}

TEST(QwenServer, RerankRoutesTemplateAndInstruction) {
  const rerank::ServerOptions o = rerank::test::server_options({dir("qwen3-reranker")});
  rerank::Server server(o);
  const int port = server.start();
  auto post = [&](const std::string& path, const json& body) {
    httplib::Client cli("127.0.0.1", port);
    cli.set_read_timeout(180, 0);  // long documents under ASan with another test beside it took over 30 s
    return cli.Post(path.c_str(), body.dump(), "application/json");
  };
  auto card = cases("qwen3-reranker", "card");
  const std::string q = card[0]["query"];
  std::vector<std::string> docs;
  std::map<std::string, std::map<std::string, double>> want;  // instruction -> document -> P(yes)
  for (const json& c : card) {
    if (c["query"] != q) continue;
    want[c.value("instruction", "")][c["document"]] = c["scores"][0];
    if (!c.contains("instruction")) docs.push_back(c["document"]);
  }
  ASSERT_GE(docs.size(), 1u);
  auto want_short = [&] { return want[""][docs[0]]; };
  for (const std::string instr : {"", "Given a question, retrieve passages that answer it"}) {
    json body{{"query", q}, {"documents", docs}};
    if (!instr.empty()) body["instruction"] = instr;
    auto r = post("/v2/rerank", body);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const json out = json::parse(r->body);  // named: a range-for over a temporary's member would dangle
    for (const json& res : out["results"])
      EXPECT_NEAR(res["relevance_score"].get<double>(), want[instr][docs[res["index"].get<size_t>()]], kTol);
  }
  auto plain = cases("qwen3-reranker", "ce");
  auto r = post("/rerank", json{{"query", plain[0]["query"]}, {"texts", {plain[0]["document"]}}, {"template", "none"}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_NEAR(json::parse(r->body)[0]["score"].get<double>(), plain[0]["scores"][0].get<double>(), kTol);
  r = post("/v2/rerank", json{{"query", q}, {"documents", docs}, {"template", "chatml"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 422) << r->body;
  // max_tokens_per_doc and chunking inside the template (encode_scored_chunks; tests/test_qwen.cpp checks its ids)
  auto model = rerank::Model::load(dir("qwen3-reranker"));
  rerank::CrossEncoder ce(model, {.threads = 1});
  auto best_of = [&](const std::string& doc, size_t cap, bool chunking, size_t max_len) {
    auto encs = rerank::encode_scored_chunks(*model, q, doc, {}, max_len, cap, chunking, o.chunk_overlap);
    double best = -1e300;
    for (const auto& p : ce.predict_encoded(encs)) best = std::max(best, static_cast<double>(p.logits[0]));
    return std::pair{1.0 / (1.0 + std::exp(-best)), encs.size()};
  };
  const size_t max_len = model->info().max_length;
  std::string long_doc;
  for (int i = 0; long_doc.size() < 6 * max_len; ++i) long_doc += "passage " + std::to_string(i) + " about gravity. ";
  for (const auto& [cap, chunking] : {std::pair{size_t{10}, false}, std::pair{size_t{100000}, false},
                                      std::pair{size_t{0}, true}, std::pair{size_t{700}, true}}) {
    json body{{"query", q}, {"documents", {docs[0], long_doc}}, {"chunking", chunking}};
    if (cap) body["max_tokens_per_doc"] = cap;
    r = post("/v2/rerank", body);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const json out = json::parse(r->body);
    for (const json& res : out["results"]) {
      const size_t i = res["index"];
      const auto [want, n] = best_of(i == 0 ? docs[0] : long_doc, cap ? cap : 1000000, chunking, max_len);
      EXPECT_NEAR(res["relevance_score"].get<double>(), want, 1e-5) << cap << " " << chunking << " " << i;
      if (i == 0 && cap != 10) { EXPECT_NEAR(res["relevance_score"].get<double>(), want_short(), kTol); }
      if (i == 1 && chunking && cap == 0) { EXPECT_GT(n, 1u) << "the long document is scored in several windows"; }
      if (i == 1 && cap == 700) { EXPECT_EQ(n, 1u) << "700 document tokens fit one window"; }
    }
  }
}

}  // namespace

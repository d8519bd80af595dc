// Qwen3 / Qwen2 decoders against tests/data/qwen/golden.jsonl (scripts/reference/make_qwen_models.py: transformers 5
// and sentence-transformers 6 on tiny random-weight BF16 models): from text, token ids identical and values within
// 1e-4 (fp32) — the Qwen3-Reranker model card's P(yes) with its template (default and custom instruction),
// sentence-transformers' CrossEncoder on plain pairs (CausalLM: logit(yes) - logit(no) + Sigmoid; seq-cls: score
// head + Sigmoid) and on the seq-cls model card's formatted pairs, Qwen3-Embedding-style embeddings with the query
// prompt; prefix sharing equal to the unshared computation; config errors naming the field.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>

#include "api/model_impl.hpp"
#include "model/architecture.hpp"
#include "model/config.hpp"
#include "rerank/error.hpp"
#include "rerank/rerank.hpp"
#include "test_util.hpp"

using nlohmann::json;
using rerank::test::data;

namespace {

constexpr double kTol = 1e-4;  // fp32 against transformers 5.24 / sentence-transformers 6.3

// The golden cases by model (loaded once; a reference that outlives any range-for).
const std::map<std::string, std::vector<json>>& goldens() {
  static const auto by = [] {
    std::map<std::string, std::vector<json>> m;
    for (const json& c : rerank::test::read_jsonl(data("qwen/golden.jsonl"))) m[c["model"]].push_back(c);
    return m;
  }();
  return by;
}
const std::vector<json>& goldens(const std::string& model) { return goldens().at(model); }

std::filesystem::path model_dir(const std::string& name) { return data("qwen/models/" + name); }

void expect_close(const json& want, const std::vector<float>& got, const std::string& what, double tol = kTol) {
  ASSERT_EQ(want.size(), got.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(want[i].get<double>(), got[i], tol) << what << " [" << i << "]";
}

rerank::PredictOptions options_of(const json& c) {
  rerank::PredictOptions o;
  const std::string kind = c["kind"];
  o.template_name = kind == "ce" ? "none" : "auto";  // "ce": sentence-transformers' plain pairs
  if (c.contains("instruction")) o.instruction = c["instruction"];
  return o;
}

TEST(Qwen, InfoFromConfig) {
  auto r = rerank::Model::load(model_dir("qwen3-reranker"));
  EXPECT_EQ(r->info().model_type, "qwen3");
  EXPECT_TRUE(r->info().causal_lm);
  EXPECT_TRUE(r->info().has_classifier);
  EXPECT_EQ(r->info().num_labels, 1);
  EXPECT_EQ(r->info().activation, rerank::Activation::Sigmoid);
  EXPECT_EQ(r->tokenizer().id_to_token(r->info().true_token_id), "yes");
  EXPECT_EQ(r->tokenizer().id_to_token(r->info().false_token_id), "no");
  EXPECT_EQ(r->info().weights_dtype, "BF16");
  auto e = rerank::Model::load(model_dir("qwen3-embedding"));
  EXPECT_FALSE(e->info().has_classifier);
  EXPECT_EQ(e->info().pooling, std::vector<std::string>{"lasttoken"});
  EXPECT_TRUE(e->info().normalize);
  EXPECT_EQ(e->info().prompts.count("query"), 1u);
  EXPECT_TRUE(e->info().default_prompt.empty());
  EXPECT_EQ(rerank::Model::load(model_dir("qwen2-reranker"))->info().model_type, "qwen2");  // sharded
}

TEST(Qwen, EveryGoldenFromText) {
  std::map<std::string, size_t> count;
  for (const auto& [name, cases] : goldens()) {
    auto model = rerank::Model::load(model_dir(name));
    if (cases.front()["kind"] == "embed") {
      rerank::BiEncoder be(model, {.threads = 2});
      for (const json& c : cases) {
        rerank::EncodeOptions o;
        if (c.contains("prompt_name")) o.prompt_name = c["prompt_name"];
        std::vector<rerank::Encoding> enc;
        auto e = be.encode({c["text"].get<std::string>()}, o, &enc);
        EXPECT_EQ(enc[0].ids, c["input_ids"].get<std::vector<int32_t>>()) << name << ": " << c["text"];
        expect_close(c["embedding"], e[0], name + " embedding");
        ++count["embed"];
      }
      continue;
    }
    rerank::CrossEncoder ce(model, {.threads = 2, .prefix_sharing = false});
    for (const json& c : cases) {
      auto p = ce.predict({{c["query"].get<std::string>(), c["document"].get<std::string>()}}, options_of(c));
      ASSERT_EQ(p.size(), 1u);
      EXPECT_EQ(p[0].encoding.ids, c["input_ids"].get<std::vector<int32_t>>()) << name << " " << c["kind"] << ": " << c["query"];
      expect_close(c["logits"], p[0].logits, name + " logits " + c["query"].get<std::string>());
      expect_close(c["scores"], p[0].scores, name + " scores");
      ++count[c["kind"].get<std::string>()];
    }
  }
  EXPECT_EQ(count["card"], 14u);
  EXPECT_EQ(count["ce"], 28u);
  EXPECT_EQ(count["ce-template"], 7u);
  EXPECT_EQ(count["embed"], 14u);
}

// The same cases in one batch, with and without prefix sharing, and one by one: the same values.
TEST(Qwen, PrefixSharingEqualsUnshared) {
  for (const std::string name : {"qwen3-reranker", "qwen3-seqcls", "qwen2-reranker"}) {
    auto model = rerank::Model::load(model_dir(name));
    std::vector<rerank::Encoding> enc;
    std::vector<float> want;
    for (const json& c : goldens(name)) {
      if (c["kind"] == "ce") continue;  // the templated ones share the system prompt + instruction
      enc.push_back(rerank::encode_scored_pair(*model, c["query"].get<std::string>(), c["document"].get<std::string>(),
                                               options_of(c), 8192));
      want.push_back(c["logits"][0].get<float>());
    }
    if (enc.empty()) {  // qwen2: plain pairs; one query for all documents shares the query's tokens
      for (const json& c : goldens(name)) {
        rerank::PredictOptions o;
        o.template_name = "qwen3-reranker";
        enc.push_back(rerank::encode_scored_pair(*model, "What is the capital of China?", c["document"].get<std::string>(), o, 8192));
      }
    }
    rerank::CrossEncoder shared(model, {.threads = 2, .batch_size = 64, .prefix_sharing = true});
    rerank::CrossEncoder whole(model, {.threads = 2, .batch_size = 64, .prefix_sharing = false});
    rerank::CrossEncoder single(model, {.threads = 1, .batch_size = 1, .prefix_sharing = false});
    auto a = shared.predict_encoded(enc), b = whole.predict_encoded(enc), c = single.predict_encoded(enc);
    for (size_t i = 0; i < enc.size(); ++i) {
      EXPECT_NEAR(a[i].logits[0], b[i].logits[0], 1e-5) << name << " " << i;
      EXPECT_NEAR(c[i].logits[0], b[i].logits[0], 1e-5) << name << " " << i;
      if (i < want.size() && name != "qwen2-reranker") EXPECT_NEAR(a[i].logits[0], want[i], kTol) << name << " " << i;
    }
  }
}

// The architecture really shares: one group per query (each with its own query tokens in the prefix), a lone
// candidate of the previous query left whole; the values equal the unshared pass.
TEST(Qwen, EncodeSharedRunsThePrefixOnce) {
  const std::string kQueryA = "what is shared between all of the candidate documents of the first query in this test?";
  const std::string kQueryB = "another query, long enough that its own tokens matter for the grouping of the batch";
  auto model = rerank::Model::load(model_dir("qwen3-reranker"));
  rerank::PredictOptions o;
  std::vector<rerank::Encoding> enc;
  enc.push_back(rerank::encode_scored_pair(*model, kQueryB, "zero", o, 8192));
  for (const char* d : {"first document", "a second, longer document", "third"})
    enc.push_back(rerank::encode_scored_pair(*model, kQueryA, d, o, 8192));
  for (const char* d : {"fourth", "fifth document"}) enc.push_back(rerank::encode_scored_pair(*model, kQueryB, d, o, 8192));
  std::vector<rerank::model::Sequence> seqs;
  for (const auto& e : enc) seqs.push_back({e.ids.data(), e.type_ids.data(), e.ids.size()});
  const auto& arch = *model->impl().arch;
  rerank::ThreadPool pool(2);
  rerank::model::Scratch s;
  auto rest = arch.encode_shared(seqs, rerank::Precision::FP32, s, pool);
  ASSERT_EQ(rest.size(), seqs.size());
  auto common = [&](size_t a, size_t b) {
    size_t n = 0;
    while (enc[a].ids[n] == enc[b].ids[n]) ++n;
    return n;
  };
  EXPECT_GT(common(1, 2), common(0, 1) + 4);
  EXPECT_EQ(rest[0].len, seqs[0].len);  // alone: the next group shares more among itself
  for (size_t i = 1; i < 4; ++i) EXPECT_EQ(rest[i].len, seqs[i].len - std::min({common(1, 2), common(1, 3), common(2, 3)})) << i;
  for (size_t i = 4; i < 6; ++i) EXPECT_EQ(rest[i].len, seqs[i].len - common(4, 5)) << i;
  for (size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(rest[i].ids + rest[i].len, seqs[i].ids + seqs[i].len) << i;
  std::vector<float> shared(seqs.size()), whole(seqs.size());
  arch.classify(rest, s, shared.data());
  arch.encode(seqs, rerank::Precision::FP32, s, pool);
  arch.classify(seqs, s, whole.data());
  for (size_t i = 0; i < seqs.size(); ++i) EXPECT_NEAR(shared[i], whole[i], 1e-5) << i;
}

TEST(Qwen, RankAndInstruction) {
  auto model = rerank::Model::load(model_dir("qwen3-reranker"));
  rerank::CrossEncoder ce(model, {.threads = 2});
  std::vector<std::string> docs;
  std::vector<float> want;
  // one query against every golden document: rank's scores equal predict's one by one
  const std::string q = "What is the capital of China?";
  for (const json& c : goldens("qwen3-reranker")) {
    if (c["kind"] == "card" && !c.contains("instruction")) docs.push_back(c["document"]);
  }
  rerank::CrossEncoder one(model, {.threads = 1, .batch_size = 1});
  for (const auto& d : docs) want.push_back(one.predict_scores({{q, d}})[0]);
  auto ranked = ce.rank(q, docs);
  ASSERT_EQ(ranked.size(), docs.size());
  for (size_t i = 0; i + 1 < ranked.size(); ++i) EXPECT_GE(ranked[i].score, ranked[i + 1].score);
  for (const auto& r : ranked) EXPECT_NEAR(r.score, want[r.corpus_id], 1e-5);
  rerank::PredictOptions o;
  o.instruction = "Given a question, retrieve passages that answer it";
  for (const json& c : goldens("qwen3-reranker")) {
    if (c["kind"] == "card" && c.contains("instruction") && c["query"] == q) {
      auto p = ce.predict({{q, c["document"].get<std::string>()}}, o);
      expect_close(c["scores"], p[0].scores, "instruction");
    }
  }
  o.template_name = "chatml";
  EXPECT_NE(rerank::test::error_of<rerank::InputError>([&] { ce.predict({{q, "x"}}, o); }).find("unknown template 'chatml'"),
            std::string::npos);
  rerank::PredictOptions tiny;
  tiny.max_length = 20;
  EXPECT_NE(rerank::test::error_of<rerank::InputError>([&] { ce.predict({{q, "x"}}, tiny); }).find("reranker template"),
            std::string::npos);
}

// Long documents: the model card cuts the formatted text at max_length - prefix - suffix (the document's end).
TEST(Qwen, TruncationKeepsTemplate) {
  auto model = rerank::Model::load(model_dir("qwen3-reranker"));
  std::string doc;
  for (int i = 0; i < 200; ++i) doc += "word" + std::to_string(i) + " ";
  rerank::PredictOptions o;
  auto full = rerank::encode_scored_pair(*model, "query", doc, o, 8192);
  auto cut = rerank::encode_scored_pair(*model, "query", doc, o, 120);
  ASSERT_EQ(cut.ids.size(), 120u);
  ASSERT_GT(full.ids.size(), 120u);
  const size_t tail = 11;  // the suffix "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n" is kept
  std::vector<int32_t> a(full.ids.end() - static_cast<long>(tail), full.ids.end()), b(cut.ids.end() - static_cast<long>(tail), cut.ids.end());
  EXPECT_EQ(a, b);
  EXPECT_TRUE(std::equal(cut.ids.begin(), cut.ids.begin() + 100, full.ids.begin()));
}

TEST(Qwen, Bf16CloseToFp32) {
  auto model = rerank::Model::load(model_dir("qwen3-reranker"));
  rerank::CrossEncoder ce(model, {.threads = 2, .precision = rerank::Precision::BF16});
  for (const json& c : goldens("qwen3-reranker")) {
    if (c["kind"] != "card") continue;
    auto p = ce.predict({{c["query"].get<std::string>(), c["document"].get<std::string>()}}, options_of(c));
    EXPECT_NEAR(p[0].scores[0], c["scores"][0].get<double>(), 0.03) << c["query"];
  }
}

// A copy of a fixture with config.json edited.
std::filesystem::path edited(const std::string& name, const std::function<void(json&)>& edit) {
  namespace fs = std::filesystem;
  const auto dir = rerank::test::temp_path("rerank-qwen", name);
  fs::create_directories(dir);
  for (const auto& f : fs::directory_iterator(model_dir(name))) fs::copy(f.path(), dir / f.path().filename(), fs::copy_options::recursive);
  json c = json::parse(std::ifstream(dir / "config.json"));
  edit(c);
  std::ofstream(dir / "config.json") << c.dump(2);
  return dir;
}

TEST(Qwen, OldRopeKeysGiveTheSameScores) {
  const auto dir = edited("qwen3-seqcls", [](json& c) {
    c["rope_theta"] = c["rope_parameters"]["rope_theta"];
    c.erase("rope_parameters");
    c["rope_scaling"] = nullptr;
  });
  rerank::CrossEncoder ce(rerank::Model::load(dir), {.threads = 1});
  for (const json& c : goldens("qwen3-seqcls")) {
    auto p = ce.predict({{c["query"].get<std::string>(), c["document"].get<std::string>()}}, options_of(c));
    expect_close(c["logits"], p[0].logits, "old rope keys");
  }
  std::filesystem::remove_all(dir);
}

TEST(Qwen, UnsupportedConfigsNameTheField) {
  const std::vector<std::pair<std::function<void(json&)>, std::string>> cases = {
      {[](json& c) { c["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}}; }, "'rope_scaling'"},
      {[](json& c) { c["rope_parameters"]["rope_type"] = "linear"; }, "'rope_parameters.rope_type' = 'linear'"},
      {[](json& c) { c["rope_parameters"]["factor"] = 2.0; }, "'rope_parameters.factor'"},
      {[](json& c) { c["hidden_act"] = "gelu"; }, "'hidden_act'"},
      {[](json& c) { c["use_sliding_window"] = true; }, "'use_sliding_window'"},
      {[](json& c) { c["num_key_value_heads"] = 3; }, "'num_key_value_heads'"},
      {[](json& c) { c["num_hidden_layers"] = 1; }, "more layers"},
      {[](json& c) { c["head_dim"] = 16; }, "has shape [32], but config.json implies [16]"},
  };
  for (const auto& [edit, want] : cases) {
    const auto dir = edited("qwen3-reranker", edit);
    const std::string err = rerank::test::error_of<rerank::ModelError>([&] { rerank::Model::load(dir); });
    EXPECT_NE(err.find(want), std::string::npos) << want << " -> " << err;
    std::filesystem::remove_all(dir);
  }
  const auto bert = edited("qwen3-reranker", [](json& c) { c["model_type"] = "bert"; });
  EXPECT_NE(rerank::test::error_of<rerank::ModelError>([&] { rerank::Model::load(bert); }).find("is an encoder"),
            std::string::npos);
  std::filesystem::remove_all(bert);
  // a prompt name the model does not have
  rerank::BiEncoder be(rerank::Model::load(model_dir("qwen3-embedding")), {.threads = 1});
  rerank::EncodeOptions o;
  o.prompt_name = "passage";
  EXPECT_NE(rerank::test::error_of<rerank::InputError>([&] { be.encode({"x"}, o); }).find("'passage'"), std::string::npos);
}

}  // namespace

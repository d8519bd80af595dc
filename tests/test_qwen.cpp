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
#include <set>
#include <tuple>
#include <algorithm>
#include <cstdio>

#include "api/model_impl.hpp"
#include "kernels/convert.hpp"
#include "kernels/matmul_w8.hpp"
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
      if (i < want.size() && name != "qwen2-reranker") { EXPECT_NEAR(a[i].logits[0], want[i], kTol) << name << " " << i; }
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

// encode_scored_chunks (the server's max_tokens_per_doc / chunking): the document's tokens split out of the
// template are exactly the model card's (one uncut input = encode_scored_pair, cut or not), windows cover the
// document with the stated overlap, and every window keeps the template's head and suffix.
TEST(Qwen, TemplateChunksEqualTheCardPath) {
  for (const std::string name : {"qwen3-reranker", "qwen3-seqcls"}) {
    auto model = rerank::Model::load(model_dir(name));
    const auto& tok = model->tokenizer();
    for (const json& c : goldens(name)) {
      if (c["kind"] == "ce") continue;
      const auto o = options_of(c);
      const std::string q = c["query"], d = c["document"];
      for (size_t max_len : {size_t{8192}, size_t{90}, size_t{110}}) {
        const auto want = rerank::encode_scored_pair(*model, q, d, o, max_len);
        const auto got = rerank::encode_scored_chunks(*model, q, d, o, max_len, 0, false, 0);
        ASSERT_EQ(got.size(), 1u);
        EXPECT_EQ(got[0].ids, want.ids) << name << " " << max_len << " " << d;
        EXPECT_EQ(got[0].type_ids, want.type_ids);
        if (max_len == 8192) {
          EXPECT_EQ(want.ids, c["input_ids"].get<std::vector<int32_t>>()) << d;
        }
      }
    }
    std::string doc;
    for (int i = 0; i < 120; ++i) doc += "token" + std::to_string(i) + " is here, ";
    const auto doc_ids = tok.encode_ids(" " + doc);
    rerank::PredictOptions o;
    const auto whole = rerank::encode_scored_chunks(*model, "a query", doc, o, 100000, 0, false, 0);
    const auto cut = rerank::encode_scored_chunks(*model, "a query", doc, o, 100000, 7, false, 0);
    ASSERT_EQ(whole[0].ids.size(), cut[0].ids.size() + doc_ids.size() - 7) << name;
    for (size_t overlap : {size_t{0}, size_t{5}}) {
      const auto chunks = rerank::encode_scored_chunks(*model, "a query", doc, o, 160, 0, true, overlap);
      ASSERT_GT(chunks.size(), 3u);
      const size_t head = static_cast<size_t>(std::search(whole[0].ids.begin(), whole[0].ids.end(), doc_ids.begin(),
                                                          doc_ids.begin() + 3) - whole[0].ids.begin());
      const size_t tail = whole[0].ids.size() - head - doc_ids.size();
      std::vector<int32_t> covered;
      for (size_t k = 0; k < chunks.size(); ++k) {
        const auto& ids = chunks[k].ids;
        ASSERT_LE(ids.size(), 160u);
        EXPECT_TRUE(std::equal(ids.begin(), ids.begin() + static_cast<long>(head), whole[0].ids.begin())) << k;
        EXPECT_TRUE(std::equal(ids.end() - static_cast<long>(tail), ids.end(), whole[0].ids.end() - static_cast<long>(tail))) << k;
        std::vector<int32_t> part(ids.begin() + static_cast<long>(head), ids.end() - static_cast<long>(tail));
        if (k + 1 < chunks.size()) { EXPECT_EQ(ids.size(), 160u) << "full windows"; }
        if (k > 0) {  // the first `overlap` ids repeat the previous window's last ones
          ASSERT_GE(covered.size(), overlap);
          EXPECT_TRUE(std::equal(part.begin(), part.begin() + static_cast<long>(overlap), covered.end() - static_cast<long>(overlap)));
          part.erase(part.begin(), part.begin() + static_cast<long>(overlap));
        }
        covered.insert(covered.end(), part.begin(), part.end());
      }
      EXPECT_EQ(covered, doc_ids) << name << " overlap " << overlap;
    }
    EXPECT_NE(rerank::test::error_of<rerank::InputError>([&] {
                rerank::encode_scored_chunks(*model, std::string(400, 'q'), doc, o, 60, 0, true, 0);
              }).find("leaves no room"),
              std::string::npos);
  }
}

// Long inputs (tests/data/qwen/golden_long.jsonl, scripts/reference/make_qwen_long.py): the model card's cut at the
// model's max_position_embeddings, sentence-transformers 6's chat-template path (render, cut, suffix restored) at
// 160 tokens and at its default max_length, and plain pairs (LongestFirst) at the default: ids identical, fp32
// values within 1e-4; our default max_length is sentence-transformers'.
TEST(Qwen, LongInputGoldens) {
  auto model = rerank::Model::load(model_dir("qwen3-reranker"));
  rerank::CrossEncoder ce(model, {.threads = 2});
  std::map<std::string, size_t> count;
  for (const json& c : rerank::test::read_jsonl(data("qwen/golden_long.jsonl"))) {
    rerank::PredictOptions o;
    o.template_name = c["kind"] == "ce-long" ? "none" : "auto";
    o.max_length = c["max_length"];
    const std::string q = c["query"], d = c["document"];
    const auto enc = rerank::encode_scored_pair(*model, q, d, o, o.max_length);
    EXPECT_EQ(enc.ids, c["input_ids"].get<std::vector<int32_t>>()) << c["kind"] << " " << o.max_length;
    EXPECT_LE(enc.ids.size(), static_cast<size_t>(model->info().max_position_embeddings));
    if (c["kind"] != "st-chat" || o.max_length != 160) {
      EXPECT_EQ(o.max_length, model->info().max_length) << "the default max_length is sentence-transformers' (" << c["kind"] << ")";
      o.max_length = 0;  // the default
    }
    auto p = ce.predict({{q, d}}, o);
    EXPECT_EQ(p[0].encoding.ids, enc.ids);
    expect_close(c["logits"], p[0].logits, c["kind"].get<std::string>() + " long");
    ++count[c["kind"]];
  }
  EXPECT_EQ(count["card-long"], 2u);
  EXPECT_EQ(count["st-chat"], 4u);
  EXPECT_EQ(count["ce-long"], 2u);
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

// The int8 weight-only product equals x_bf16 · dequant(W)^T in double (up to fp32 summation order), for shapes
// with a partial column block, on a strided output.
TEST(Qwen, Int8WeightOnlyKernelMatchesDequantised) {
  for (auto [m, n, k] : {std::tuple{1, 5, 7}, std::tuple{37, 300, 64}, std::tuple{130, 513, 96}}) {
    std::vector<float> w(static_cast<size_t>(n) * k), x(static_cast<size_t>(m) * k);
    uint32_t st = 12345;
    auto rnd = [&] { st = st * 1664525u + 1013904223u; return static_cast<float>(st >> 8) / 16777216.0f - 0.5f; };
    for (float& v : w) v = rnd() * 0.1f;
    w[3] = 0.9f;  // an outlier channel: its scale is larger, the others keep theirs
    for (float& v : x) v = rnd() * 4.0f;
    rerank::kernels::Int8WeightOnly q(w.data(), n, k);
    std::vector<uint16_t> x16(x.size());
    rerank::kernels::f32_to_bf16_scalar(x.data(), x16.data(), x.size());
    const size_t ld = static_cast<size_t>(n) + 3;
    std::vector<float> y(static_cast<size_t>(m) * ld, -7.0f);
    q.run(x16.data(), static_cast<size_t>(m), y.data(), ld);
    for (int o = 0; o < n; ++o) {
      for (int i = 0; i < k; ++i) ASSERT_NEAR(q.weight(o, i), w[static_cast<size_t>(o) * k + i], 0.5 * 0.9 / 127 + 1e-7);
    }
    for (int r = 0; r < m; ++r) {
      for (int o = 0; o < n; ++o) {
        double want = 0.0, mag = 0.0;
        for (int i = 0; i < k; ++i) {
          const double xv = rerank::model::bf16_to_f32(x16[static_cast<size_t>(r) * k + i]);
          want += xv * q.weight(o, i);
          mag += std::fabs(xv * q.weight(o, i));
        }
        ASSERT_NEAR(y[static_cast<size_t>(r) * ld + o], want, 1e-5 * mag + 1e-6) << m << "x" << n << "x" << k << " " << r << "," << o;
      }
      for (size_t o = static_cast<size_t>(n); o < ld; ++o) ASSERT_EQ(y[static_cast<size_t>(r) * ld + o], -7.0f);
    }
  }
}

double spearman(const std::vector<float>& a, const std::vector<float>& b) {
  auto ranks = [](const std::vector<float>& v) {
    std::vector<size_t> idx(v.size());
    for (size_t i = 0; i < v.size(); ++i) idx[i] = i;
    std::sort(idx.begin(), idx.end(), [&](size_t x, size_t y) { return v[x] < v[y]; });
    std::vector<double> r(v.size());
    for (size_t i = 0; i < idx.size(); ++i) r[idx[i]] = static_cast<double>(i);
    return r;
  };
  const auto ra = ranks(a), rb = ranks(b);
  double d2 = 0.0;
  for (size_t i = 0; i < ra.size(); ++i) d2 += (ra[i] - rb[i]) * (ra[i] - rb[i]);
  const double n = static_cast<double>(a.size());
  return 1.0 - 6.0 * d2 / (n * (n * n - 1.0));
}

// bf16 and int8 weight-only against the exact fp32 path on one query and 40 candidates (reranker fixture, model
// card template): the scores stay within the stated distance and the ranking is kept (Spearman, top-5). Also
// checks that the precisions can be built in any order on one loaded model (weights are built per precision).
TEST(Qwen, ReducedPrecisionKeepsTheRanking) {
  auto model = rerank::Model::load(model_dir("qwen3-reranker"));
  std::vector<std::string> docs;
  for (const json& c : goldens("qwen3-reranker")) docs.push_back(c["document"]);
  const char* words[] = {"gravity", "capital", "river", "planet", "Beijing", "energy", "orbit", "water", "history", "light"};
  for (int i = 0; docs.size() < 40; ++i) {
    std::string d;
    for (int j = 0; j < 6 + i % 9; ++j) d += std::string(words[(i * 7 + j * 3) % 10]) + (j % 4 == 3 ? ". " : " ");
    docs.push_back(d);
  }
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const std::string& d : docs) pairs.emplace_back("What is the capital of China and how does gravity work?", d);
  auto scores = [&](rerank::Precision p) {
    rerank::CrossEncoder ce(model, {.threads = 2, .precision = p});
    std::vector<float> out;
    for (const auto& pr : ce.predict(pairs)) out.push_back(pr.scores[0]);
    return out;
  };
  const auto b16 = scores(rerank::Precision::BF16), i8 = scores(rerank::Precision::INT8), f32 = scores(rerank::Precision::FP32);
  auto top5 = [](const std::vector<float>& v) {
    std::vector<size_t> idx(v.size());
    for (size_t i = 0; i < v.size(); ++i) idx[i] = i;
    std::partial_sort(idx.begin(), idx.begin() + 5, idx.end(), [&](size_t a, size_t b) { return v[a] > v[b]; });
    return std::set<size_t>(idx.begin(), idx.begin() + 5);
  };
  for (const auto& [name, got, max_diff] : {std::tuple{"bf16", &b16, 0.03}, std::tuple{"int8", &i8, 0.03}}) {
    double worst = 0.0;
    for (size_t i = 0; i < f32.size(); ++i) worst = std::max(worst, std::fabs(static_cast<double>((*got)[i]) - f32[i]));
    const double rho = spearman(*got, f32);
    const auto a = top5(*got), b = top5(f32);
    size_t common = 0;
    for (size_t i : a) common += b.count(i);
    std::printf("%s vs fp32: max |P(yes) diff| %.4f, Spearman %.4f, top-5 overlap %zu/5\n", name, worst, rho, common);
    EXPECT_LE(worst, max_diff) << name;
    EXPECT_GE(rho, 0.9) << name;
    EXPECT_GE(common, 4u) << name;
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

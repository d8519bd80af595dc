// A pair scored in a batch equals the same pair scored alone (within 1e-5), whatever the batch size and thread
// count; embeddings likewise.
#include <gtest/gtest.h>

#include "rerank/rerank.hpp"
#include "test_util.hpp"

using rerank::test::data;

namespace {

std::vector<std::pair<std::string, std::string>> pairs() {
  std::vector<std::pair<std::string, std::string>> p;
  auto cases = rerank::test::read_jsonl(data("encoders/golden.jsonl"));
  for (const auto& c : cases) {
    if (c["model"] == "ce-tiny" && c["max_length"] == 512) p.emplace_back(c["query"], c["document"]);
  }
  return p;
}

}  // namespace

TEST(Batching, PairScoreIndependentOfBatchAndThreads) {
  auto model = rerank::Model::load(data("encoders/models/ce-tiny"));
  auto all = pairs();
  ASSERT_GE(all.size(), 20u);
  rerank::CrossEncoder single(model, {.threads = 1, .batch_size = 1});
  std::vector<float> alone;
  for (const auto& p : all) alone.push_back(single.predict_scores({p})[0]);
  for (size_t threads : {1, 2}) {
    for (size_t batch : {3, 7, 64}) {
      rerank::CrossEncoder ce(model, {.threads = threads, .batch_size = batch});
      auto s = ce.predict_scores(all);
      ASSERT_EQ(s.size(), alone.size());
      for (size_t i = 0; i < s.size(); ++i) EXPECT_NEAR(s[i], alone[i], 1e-5) << "pair " << i << " batch " << batch << " threads " << threads;
    }
  }
}

TEST(Batching, EmbeddingIndependentOfBatch) {
  auto model = rerank::Model::load(data("encoders/models/bi-tiny-mean"));
  std::vector<std::string> texts;
  for (const auto& p : pairs()) texts.push_back(p.second);
  rerank::BiEncoder one(model, {.threads = 1, .batch_size = 1}), many(model, {.threads = 2, .batch_size = 16});
  auto a = one.encode(texts), b = many.encode(texts);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t k = 0; k < a[i].size(); ++k) EXPECT_NEAR(a[i][k], b[i][k], 1e-5);
}

TEST(Rank, SortsByScoreAndCutsTopK) {
  auto model = rerank::Model::load(data("encoders/models/ce-tiny"));
  rerank::CrossEncoder ce(model, {.threads = 2});
  std::vector<std::string> docs;
  for (const auto& p : pairs()) docs.push_back(p.second);
  auto scores = ce.predict_scores([&] {
    std::vector<std::pair<std::string, std::string>> v;
    for (const auto& d : docs) v.emplace_back("How do I reset my password?", d);
    return v;
  }());
  auto r = ce.rank("How do I reset my password?", docs, 5);
  ASSERT_EQ(r.size(), 5u);
  for (size_t i = 0; i < r.size(); ++i) {
    EXPECT_FLOAT_EQ(r[i].score, scores[r[i].corpus_id]);
    if (i) {
      EXPECT_GE(r[i - 1].score, r[i].score);
    }
  }
  float best = *std::max_element(scores.begin(), scores.end());
  EXPECT_FLOAT_EQ(r[0].score, best);
}

TEST(ThreadPool, CoversRangeAndPropagatesErrors) {
  rerank::ThreadPool pool(3);
  std::vector<int> hits(1000, 0);
  pool.parallel_for(hits.size(), [&](size_t b, size_t e, size_t) {
    for (size_t i = b; i < e; ++i) hits[i]++;
  });
  for (int h : hits) EXPECT_EQ(h, 1);
  EXPECT_THROW(pool.parallel_for(10, [](size_t b, size_t, size_t) {
    if (b > 0) throw std::runtime_error("boom");
  }), std::runtime_error);
  // still usable after an error
  int sum = 0;
  pool.parallel_for(1, [&](size_t, size_t, size_t) { sum = 1; });
  EXPECT_EQ(sum, 1);
}

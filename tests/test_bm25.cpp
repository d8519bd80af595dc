// BM25: the analyzer, Lucene's length encoding, the postings codec, MaxScore against exhaustive scoring, and
// the scores of a small collection against Lucene's formula computed by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "index/postings.hpp"
#include "rerank/collection.hpp"
#include "rerank/error.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
using rerank::Analyzer;

namespace {

fs::path temp_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("rerank-bm25-" + std::to_string(::getpid()) + "-" + name);
  fs::remove_all(p);
  return p;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : " ") + x;
  return s;
}

}  // namespace

TEST(Analyzer, TokenizesLikeStandardTokenizer) {
  EXPECT_EQ(join(Analyzer::tokenize("The U.S.A. costs $3.14, don't it? e-mail foo_bar 0-dimensional")),
            "The U.S.A costs 3.14 don't it e mail foo_bar 0 dimensional");
  EXPECT_EQ(join(Analyzer::tokenize("1,000,000 people; a,b")), "1,000,000 people a b");
  EXPECT_EQ(join(Analyzer::tokenize("Hello\xE2\x80\x99s world")), "Hello\xE2\x80\x99s world");
  EXPECT_EQ(join(Analyzer::tokenize("caf\xC3\xA9 na\xC3\xAFve")), "caf\xC3\xA9 na\xC3\xAFve");
  EXPECT_EQ(join(Analyzer::tokenize("\xE4\xB8\xAD\xE6\x96\x87")), "\xE4\xB8\xAD \xE6\x96\x87");  // ideographs: one each
  EXPECT_EQ(join(Analyzer::tokenize("bad \xFF byte")), "bad byte");
}

TEST(Analyzer, EnglishAnalyzerChain) {
  Analyzer a;
  // possessive removed, lowercased, stop words dropped, Porter stemmed
  EXPECT_EQ(join(a.analyze("The cat's paws were running to the Garden")), "cat paw were run garden");
  EXPECT_EQ(join(a.analyze("caresses ponies relational conditional")), "caress poni relat condit");
  EXPECT_EQ(join(a.analyze("the of and a an")), "");
  EXPECT_TRUE(Analyzer::is_stop_word("their"));
  EXPECT_FALSE(Analyzer::is_stop_word("were"));  // not in Lucene's list
  Analyzer none("");
  EXPECT_EQ(join(none.analyze("Running Dogs")), "running dogs");
  EXPECT_THROW(Analyzer("klingon"), rerank::Error);
}

TEST(Bm25, LuceneLengthEncoding) {
  for (unsigned i = 0; i < 24; ++i) EXPECT_EQ(rerank::lucene_byte_to_length(rerank::lucene_length_to_byte(i)), i);
  EXPECT_EQ(rerank::lucene_length_to_byte(100), 57);
  EXPECT_EQ(rerank::lucene_byte_to_length(57), 96u);
  unsigned prev = 0;
  for (unsigned len = 0; len < 100000; len += 7) {  // monotone, never above the real length
    unsigned d = rerank::lucene_byte_to_length(rerank::lucene_length_to_byte(len));
    EXPECT_LE(d, len);
    EXPECT_GE(d, prev);
    prev = d;
  }
}

TEST(Bm25, PostingsCodecRoundTripAndCorruption) {
  std::vector<std::pair<int64_t, uint32_t>> p = {{1, 3}, {2, 1}, {300, 70000}, {1LL << 40, 2}};
  std::string blob = rerank::index::encode_postings(p);
  std::vector<std::pair<int64_t, uint32_t>> back;
  rerank::index::decode_postings(blob, "t", [&](int64_t k, uint32_t tf) { back.emplace_back(k, tf); });
  EXPECT_EQ(back, p);
  EXPECT_THROW(rerank::index::decode_postings(blob.substr(0, blob.size() - 1), "t", [](int64_t, uint32_t) {}), rerank::Error);
  EXPECT_THROW(rerank::index::decode_postings("\x07", "t", [](int64_t, uint32_t) {}), rerank::Error);
}

TEST(Bm25, MaxScoreEqualsExhaustive) {
  std::mt19937 rng(7);
  const uint32_t n = 3000;
  std::vector<float> norm_inv(n);
  for (auto& x : norm_inv) x = std::uniform_real_distribution<float>(0.3f, 3.0f)(rng);
  for (int trial = 0; trial < 30; ++trial) {
    std::vector<rerank::index::PostingList> lists(1 + trial % 6);
    std::vector<rerank::index::QueryTerm> q;
    for (auto& l : lists) {
      double density = std::uniform_real_distribution<double>(0.001, 0.5)(rng);
      for (uint32_t d = 0; d < n; ++d)
        if (std::uniform_real_distribution<double>(0, 1)(rng) < density) {
          l.docs.push_back(d);
          l.tfs.push_back(1 + rng() % 5);
        }
      q.push_back({&l, rerank::index::bm25_idf(n, l.docs.size())});
    }
    for (size_t k : {1, 10, 100}) {
      auto a = rerank::index::bm25_top_k(q, norm_inv, k);
      auto b = rerank::index::bm25_exhaustive(q, norm_inv, k);
      ASSERT_EQ(a.size(), b.size());
      for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i].score, b[i].score, 1e-4f) << "trial " << trial << " k " << k << " i " << i;
    }
  }
}

TEST(Bm25, ScoresFollowLuceneFormula) {
  fs::path dir = temp_dir("formula");
  {
    auto c = rerank::Collection::open_or_create(dir);
    c.add({{"a", "", "apple banana apple", ""}, {"b", "", "banana cherry", ""}, {"c", "", "cherry cherry cherry date", ""}});
    auto hits = c.search_bm25("apple cherry", 10);
    ASSERT_EQ(hits.size(), 3u);
    // N = 3, lengths 3, 2, 4 (exact below 24), avgdl = 3; k1 = 0.9, b = 0.4
    auto idf = [](double df) { return std::log(1 + (3 - df + 0.5) / (df + 0.5)); };
    auto tfn = [](double tf, double len) { return tf / (tf + 0.9 * (0.6 + 0.4 * len / 3.0)); };
    double a = idf(1) * tfn(2, 3), b = idf(2) * tfn(1, 2), cc = idf(2) * tfn(3, 4);
    std::map<std::string, double> want{{"a", a}, {"b", b}, {"c", cc}};
    for (const auto& h : hits) EXPECT_NEAR(h.score, want[h.doc_id], 1e-5) << h.doc_id;
    EXPECT_EQ(hits[0].doc_id, a > cc ? "a" : "c");
    EXPECT_TRUE(c.search_bm25("the and of", 10).empty());
    EXPECT_TRUE(c.search_bm25("zebra", 10).empty());
  }
  fs::remove_all(dir);
}

TEST(Bm25, IncrementalAddDeleteMatchesFreshBuild) {
  auto corpus = rerank::test::read_jsonl(rerank::test::data("retrieval/corpus.jsonl"));
  std::vector<rerank::Document> docs;
  for (const auto& j : corpus) docs.push_back({j["_id"], j["title"], j["text"], ""});
  fs::path inc = temp_dir("inc"), fresh = temp_dir("fresh");
  {
    auto c = rerank::Collection::open_or_create(inc);
    c.add(std::vector<rerank::Document>(docs.begin(), docs.begin() + 8));
    c.add(std::vector<rerank::Document>(docs.begin() + 8, docs.end()));
    c.remove({"pw2", "tea"});
    rerank::Document changed = docs[0];
    changed.text = "Nothing about credentials any more.";
    c.add({changed}, rerank::AddMode::Replace);
    auto f = rerank::Collection::open_or_create(fresh);
    std::vector<rerank::Document> rest;
    for (const auto& d : docs)
      if (d.id != "pw2" && d.id != "tea" && d.id != "pw1") rest.push_back(d);
    f.add(rest);
    f.add({changed});
    for (const char* q : {"reset password", "water vapour", "programming language memory", "Forgot Password email"}) {
      auto a = c.search_bm25(q, 10), b = f.search_bm25(q, 10);
      ASSERT_EQ(a.size(), b.size()) << q;
      for (size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].doc_id, b[i].doc_id) << q;
        EXPECT_NEAR(a[i].score, b[i].score, 1e-5) << q;
      }
    }
    c.optimize();  // merging segments changes nothing
    auto again = c.search_bm25("reset password", 10), ref = f.search_bm25("reset password", 10);
    ASSERT_EQ(again.size(), ref.size());
    for (size_t i = 0; i < again.size(); ++i) EXPECT_NEAR(again[i].score, ref[i].score, 1e-5);
    EXPECT_EQ(c.stats().segments, 1u);
  }
  fs::remove_all(inc);
  fs::remove_all(fresh);
}

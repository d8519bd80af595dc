// Search: dense (exact and HNSW) against brute force with the fixture bi-encoder, fusion, the two-stage
// Pipeline with the fixture cross-encoder, and the `rerank index` / `rerank search` commands.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>

#include "rerank/pipeline.hpp"
#include "rerank/rerank.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
using namespace rerank;

namespace {

fs::path temp_dir(const std::string& name) { return test::temp_path("rerank-search", name); }

std::vector<Document> fixture_docs() { return test::fixture_documents(); }

const fs::path kBi = test::data("encoders/models/bi-tiny-mean");
const fs::path kCe = test::data("encoders/models/ce-tiny");

/// A collection of the fixture corpus embedded with the tiny bi-encoder (built once).
const fs::path& dense_collection() {
  static fs::path dir = [] {
    fs::path d = temp_dir("dense");
    auto c = Collection::open_or_create(d);
    c.set_embedder(make_bi_encoder_embedder(kBi, {.threads = 1, .batch_size = 32, .pool = nullptr}));
    c.add(fixture_docs());
    return d;
  }();
  return dir;
}

}  // namespace

TEST(Fusion, ReciprocalRankAndWeighted) {
  std::vector<Hit> a{{"x", 1, 0, 9}, {"y", 2, 0, 5}, {"z", 3, 0, 1}};
  std::vector<Hit> b{{"y", 2, 0, 0.9f}, {"w", 4, 0, 0.8f}};
  auto r = fuse_rrf({a, b}, 60, 10);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0].doc_id, "y");  // 1/62 + 1/61
  EXPECT_NEAR(r[0].score, 1.0 / 62 + 1.0 / 61, 1e-6);
  EXPECT_EQ(r[1].doc_id, "x");  // 1/61, ahead of w's 1/62 and z's 1/63
  EXPECT_EQ(r[2].doc_id, "w");
  EXPECT_EQ(r[3].doc_id, "z");
  EXPECT_EQ(fuse_rrf({a, b}, 60, 2).size(), 2u);
  auto w = fuse_weighted(a, b, 0.5f, 10);
  // a normalised: x 1, y 0.5, z 0; b: y 1, w 0
  EXPECT_EQ(w[0].doc_id, "y");
  EXPECT_NEAR(w[0].score, 0.75, 1e-6);
  EXPECT_EQ(w[1].doc_id, "x");
  EXPECT_NEAR(w[1].score, 0.5, 1e-6);
}

TEST(Dense, ExactSearchMatchesBruteForceAndSurvivesReopen) {
  auto model = Model::load(kBi);
  BiEncoder be(model, {.threads = 1, .batch_size = 32, .pool = nullptr});
  auto docs = fixture_docs();
  const std::string query = "How do I reset my password?";
  auto q = be.encode({query})[0];
  // brute force over the unsplit documents ("title text"; the fixture's long document is chunked, skip it)
  std::vector<std::pair<float, std::string>> want;
  for (const auto& d : docs) {
    if (d.id == "long") continue;
    auto e = be.encode({d.title.empty() ? d.text : d.title + " " + d.text})[0];
    double dot = 0, nq = 0, ne = 0;
    for (size_t i = 0; i < e.size(); ++i) dot += q[i] * e[i], nq += q[i] * q[i], ne += e[i] * e[i];
    want.emplace_back(static_cast<float>(dot / std::sqrt(nq * ne)), d.id);
  }
  std::sort(want.begin(), want.end(), [](auto& a, auto& b) { return a.first > b.first; });
  auto c = Collection::open(dense_collection());  // reopened: no embedder, embeddings come from the store
  EXPECT_EQ(c.stats().embedding_dim, be.dimension());
  EXPECT_THROW(c.search_dense(query, 5), InputError);  // text queries need an embedder
  auto hits = c.search_dense(q, 30);
  std::vector<std::pair<float, std::string>> got;
  for (const auto& h : hits)
    if (h.doc_id != "long") {
      got.emplace_back(h.score, h.doc_id);
    }
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i].first, want[i].first, 1e-4) << i;
  EXPECT_EQ(got[0].second, want[0].second);
  EXPECT_EQ(c.vector_index_kind(), "exact");

  CollectionOptions hnsw;
  hnsw.vector_index = "hnsw";
  auto h = Collection::open(dense_collection(), hnsw);
  auto hh = h.search_dense(q, 5);
  ASSERT_EQ(hh.size(), 5u);
  EXPECT_EQ(h.vector_index_kind(), "hnsw");
  EXPECT_EQ(hh[0].doc_id, hits[0].doc_id);  // 21 documents: HNSW is exact at this size
  EXPECT_TRUE(fs::exists(dense_collection() / "vectors.hnsw"));
  auto again = Collection::open(dense_collection(), hnsw).search_dense(q, 5);  // from the cached graph
  EXPECT_EQ(again[0].doc_id, hh[0].doc_id);
}

TEST(Pipeline, RerankKeepsFirstStageRanksAndScoresLikeCrossEncoder) {
  auto c = Collection::open(dense_collection());
  auto ce = std::make_shared<CrossEncoder>(Model::load(kCe), EngineOptions{.threads = 1, .batch_size = 32, .pool = nullptr});
  Pipeline p(c, {.retriever = Retriever::Bm25, .k = 4, .top_n = 3}, make_cross_encoder_reranker(ce));
  const std::string query = "reset password";
  SearchResult r = p.search(query);
  ASSERT_EQ(r.first_stage.size(), 4u);  // the documents with "reset" or "password"
  ASSERT_TRUE(r.has_reranker);
  ASSERT_EQ(r.reranked.size(), 3u);
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& x : r.first_stage) pairs.emplace_back(query, c.passage_text(x.passage));
  auto scores = ce->predict_scores(pairs);
  for (size_t i = 0; i < r.reranked.size(); ++i) {
    const auto& x = r.reranked[i];
    EXPECT_EQ(x.rank, i + 1);
    ASSERT_GE(x.first_rank, 1u);
    const auto& f = r.first_stage[x.first_rank - 1];
    EXPECT_EQ(f.doc_id, x.doc_id);
    EXPECT_FLOAT_EQ(x.first_score, f.score);
    EXPECT_NEAR(x.score, scores[x.first_rank - 1], 1e-5);
    if (i > 0) { EXPECT_GE(r.reranked[i - 1].score, x.score); }
  }
  // the Hub-id/directory factory gives the same scores as the encoder it wraps
  auto via_spec = make_reranker(kCe.string(), BackendOptions{.engine = {.threads = 1}});
  std::vector<std::string> texts;
  for (const auto& x : r.first_stage) texts.push_back(c.passage_text(x.passage));
  auto spec_scores = via_spec->score(query, texts);
  ASSERT_EQ(spec_scores.size(), scores.size());
  for (size_t i = 0; i < scores.size(); ++i) EXPECT_NEAR(spec_scores[i], scores[i], 1e-5);
  EXPECT_THROW(make_reranker("openai:gpt", {}), InputError);
  EXPECT_THROW(make_reranker("cohere:", {}), InputError);
  EXPECT_THROW(make_embedder("cohere:embed", {}), InputError);
  // first stage only
  Pipeline bm25(c, {.retriever = Retriever::Bm25, .k = 4, .top_n = 3});
  auto b = bm25.search(query);
  EXPECT_FALSE(b.has_reranker);
  EXPECT_EQ(b.final_ranking(3).size(), 3u);
  // dense and hybrid
  c.set_embedder(make_bi_encoder_embedder(kBi, {.threads = 1, .batch_size = 32, .pool = nullptr}));
  Pipeline dense(c, {.retriever = Retriever::Dense, .k = 5});
  EXPECT_EQ(dense.search(query).first_stage.size(), 5u);
  Pipeline hybrid(c, {.retriever = Retriever::Hybrid, .k = 5, .fusion_depth = 10});
  auto hy = hybrid.search(query).first_stage;
  ASSERT_EQ(hy.size(), 5u);
  EXPECT_GT(hy[0].score, 1.0 / 61.0);  // in both lists
  Pipeline weighted(c, {.retriever = Retriever::Hybrid, .k = 5, .fusion = Fusion::Weighted});
  EXPECT_EQ(weighted.search(query).first_stage.size(), 5u);
}

TEST(SearchCli, IndexSearchAndRun) {
  fs::path dir = temp_dir("cli"), run = temp_dir("run.trec");
  auto r = test::run_cli("index --collection " + dir.string() + " " + test::data("retrieval/corpus.jsonl").string() + " " +
                             test::data("retrieval/docs.csv").string() + " " + test::data("retrieval/sample.all").string() + " " +
                             test::data("retrieval/note.md").string(),
                         "");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("indexed 27 new"), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "");  // quiet in pipes
  r = test::run_cli("search --collection " + dir.string() + " --k 5 --reranker " + kCe.string() + " --top-n 3 --threads 1 \"How do I reset my password?\"", "");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("First stage (bm25, top 4)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("After reranking"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(was "), std::string::npos) << r.out;
  r = test::run_cli("search --collection " + dir.string() + " --k 10 --queries " + test::data("retrieval/queries.jsonl").string() +
                        " --qrels " + test::data("retrieval/qrels.tsv").string() + " --run-out " + run.string(),
                    "");
  ASSERT_EQ(r.status, 0) << r.err;
  std::ifstream in(run);
  std::string line, first;
  size_t lines = 0;
  while (std::getline(in, line)) {
    if (lines++ == 0) first = line;
  }
  EXPECT_EQ(first.rfind("q1 Q0 pw", 0), 0u) << first;
  EXPECT_GE(lines, 7u);
  EXPECT_NE(r.err.find("latency p50"), std::string::npos);
  // errors: exit 1 with a message
  r = test::run_cli("search --collection " + (dir / "nope").string() + " query", "");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("rerank: error: "), std::string::npos) << r.err;
  r = test::run_cli("search --collection " + dir.string() + " --retriever dense query", "");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("no embeddings"), std::string::npos) << r.err;
  r = test::run_cli("index --collection " + dir.string() + " " + test::data("retrieval/bad.jsonl").string(), "");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("bad.jsonl line 3"), std::string::npos) << r.err;
  r = test::run_cli("index --help", "");
  EXPECT_NE(r.out.find("Example"), std::string::npos);
  fs::remove_all(dir);
  fs::remove(run);
}

TEST(SearchCli, BatchReadsTrecTopicsAndSmartQueriesAndWritesNoPartialRun) {
  fs::path dir = temp_dir("cli-formats"), run = temp_dir("formats.trec");
  auto r = test::run_cli("index -c " + dir.string() + " " + test::data("pipeline/corpus.jsonl").string(), "");
  ASSERT_EQ(r.status, 0) << r.err;
  auto lines_of = [](const fs::path& p) {
    std::vector<std::string> out;
    std::ifstream in(p);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  };
  // TREC topics, only the judged ones
  r = test::run_cli("search -c " + dir.string() + " --k 3 --queries " + test::data("pipeline/topics.txt").string() +
                        " --qrels " + test::data("pipeline/qrels.tsv").string() + " --run-out " + run.string(), "");
  ASSERT_EQ(r.status, 0) << r.err;
  auto lines = lines_of(run);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0].rfind("q01 Q0 d0", 0), 0u) << lines[0];
  EXPECT_FALSE(fs::exists(run.string() + ".partial"));
  // Cranfield's cran.qry: ids are the records' positions, as cranqrel numbers them
  r = test::run_cli("search -c " + dir.string() + " --k 3 --queries " + test::data("eval/cran.qry").string() +
                        " --qrels " + test::data("eval/cranqrel").string() + " --run-out " + run.string(), "");
  ASSERT_EQ(r.status, 0) << r.err;
  lines = lines_of(run);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0].rfind("1 Q0 ", 0), 0u) << lines[0];
  // queries none of which the qrels judge: an error before anything is written, the old run left as it was
  r = test::run_cli("search -c " + dir.string() + " --queries " + test::data("pipeline/queries.jsonl").string() +
                        " --qrels " + test::data("eval/toy.qrels").string() + " --run-out " + run.string(), "");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("queries in " + test::data("pipeline/queries.jsonl").string() + " has judgments in " +
                       test::data("eval/toy.qrels").string()),
            std::string::npos)
      << r.err;
  EXPECT_EQ(lines_of(run), lines);
  // and `rerank eval` refuses a run with no query in common with the qrels instead of printing zeros
  r = test::run_cli("eval --qrels " + test::data("eval/toy.qrels").string() + " --run " + run.string(), "");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("no query in common"), std::string::npos) << r.err;
  fs::remove_all(dir);
  fs::remove(run);
}

TEST(Dense, EmbedderMismatchesAreErrors) {
  fs::path dir = temp_dir("mismatch");
  {
    auto c = Collection::open_or_create(dir);
    c.add({{"a", "", "plain text", ""}});
    c.set_embedder(make_bi_encoder_embedder(kBi, {.threads = 1, .batch_size = 32, .pool = nullptr}));
    EXPECT_THROW(c.add({{"b", "", "more text", ""}}), InputError);  // BM25-only collection: no partial embeddings
    EXPECT_THROW(c.search_dense(std::vector<float>(4, 1.0f), 3), InputError);
  }
  {
    auto c = Collection::open(dense_collection());
    EXPECT_THROW(c.add({{"new", "", "text", ""}}), InputError);  // needs the recorded embedder
    EXPECT_THROW(c.search_dense(std::vector<float>(3, 1.0f), 3), InputError);  // wrong dimension
  }
  fs::remove_all(dir);
}

TEST(Dense, EmbedMissingBackfillsABm25OnlyCollectionAndResumes) {
  fs::path dir = temp_dir("backfill");
  auto docs = fixture_docs();
  {
    auto c = Collection::open_or_create(dir, [] {
      CollectionOptions o;
      o.chunk.disabled = true;  // same passages as an embedded collection would get without chunking
      return o;
    }());
    c.add(docs);
    EXPECT_EQ(c.missing_embeddings(), docs.size());
    EXPECT_THROW(c.embed_missing(), InputError);  // no embedder
    c.set_embedder(make_bi_encoder_embedder(kBi, {.threads = 1, .batch_size = 32, .pool = nullptr}));
    // an interrupted backfill: the first batch commits, then the embedder fails
    size_t calls = 0;
    EXPECT_THROW(c.embed_missing(5, [&](size_t done, size_t total) {
      ++calls;
      EXPECT_EQ(total, docs.size());
      if (done >= 5) throw std::runtime_error("interrupted");
    }), std::runtime_error);
    EXPECT_EQ(calls, 1u);
    EXPECT_EQ(c.missing_embeddings(), docs.size() - 5);
  }
  auto c = Collection::open(dir);
  EXPECT_FALSE(c.stats().embedder.empty());  // recorded with the first committed batch
  c.set_embedder(make_bi_encoder_embedder(kBi, {.threads = 1, .batch_size = 32, .pool = nullptr}));
  EXPECT_EQ(c.embed_missing(4), docs.size() - 5);  // resumes with the rest
  EXPECT_EQ(c.missing_embeddings(), 0u);
  EXPECT_EQ(c.embed_missing(), 0u);
  // every stored vector equals the bi-encoder's embedding of the passage text
  BiEncoder be(Model::load(kBi), {.threads = 1, .batch_size = 32, .pool = nullptr});
  const std::string query = "How do I reset my password?";
  auto q = be.encode({query})[0];
  auto hits = c.search_dense(q, docs.size());
  ASSERT_EQ(hits.size(), docs.size());
  for (const auto& h : hits) {
    auto e = be.encode({c.passage_text(h.passage)})[0];
    double dot = 0, nq = 0, ne = 0;
    for (size_t i = 0; i < e.size(); ++i) dot += q[i] * e[i], nq += q[i] * q[i], ne += e[i] * e[i];
    EXPECT_NEAR(h.score, dot / std::sqrt(nq * ne), 1e-4) << h.doc_id;
  }
  c.add({{"later", "", "a document added after the backfill", ""}});  // adding now embeds too
  EXPECT_EQ(c.missing_embeddings(), 0u);
  fs::remove_all(dir);
  // the CLI: index without a bi-encoder, then embed with --bi-encoder and search densely
  fs::path cli = temp_dir("backfill-cli");
  auto r = test::run_cli("index --collection " + cli.string() + " " + test::data("retrieval/corpus.jsonl").string(), "");
  ASSERT_EQ(r.status, 0) << r.err;
  r = test::run_cli("index --collection " + cli.string() + " --threads 1 --bi-encoder " + kBi.string(), "");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("embedded "), std::string::npos) << r.out;
  r = test::run_cli("search --collection " + cli.string() + " --retriever dense --threads 1 --json \"reset password\"", "");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("\"first_stage\""), std::string::npos) << r.out;
  fs::remove_all(cli);
}

// `rerank index --precision auto` (the default) embeds in bf16 where the CPU computes it natively, else in fp32:
// the default collection's dense scores equal a --precision fp32 collection's on a CPU without native bf16, and on
// one with it differ (bf16 products) but stay within 0.02 of them (cosines of the tiny random bi-encoder; 0.999+ on
// all-MiniLM-L6-v2, docs/PERFORMANCE.md).
TEST(DenseSearch, IndexPrecisionAutoIsBf16OnlyWhereNative) {
  std::map<std::string, std::map<std::string, double>> scores;
  for (std::string precision : {"", "fp32"}) {
    fs::path dir = temp_dir("auto-precision-" + precision);
    auto r = test::run_cli("index --collection " + dir.string() + " --threads 1 --bi-encoder " + kBi.string() +
                               (precision.empty() ? "" : " --precision " + precision) + " " +
                               test::data("retrieval/corpus.jsonl").string(),
                           "");
    ASSERT_EQ(r.status, 0) << r.err;
    auto c = Collection::open(dir);
    BiEncoder be(Model::load(kBi), {.threads = 1, .batch_size = 32, .pool = nullptr});
    for (const auto& h : c.search_dense(be.encode({"How do I reset my password?"})[0], 100)) scores[precision][h.doc_id] = h.score;
    fs::remove_all(dir);
  }
  ASSERT_EQ(scores[""].size(), scores["fp32"].size());
  double worst = 0.0;
  for (const auto& [id, s] : scores["fp32"]) worst = std::max(worst, std::fabs(s - scores[""].at(id)));
  std::printf("[ measured ] native bf16 %d: largest |score difference| auto vs fp32 = %.3g\n", has_native_bf16() ? 1 : 0, worst);
  if (has_native_bf16()) {
    EXPECT_GT(worst, 0.0) << "auto embedded in fp32 on a CPU with native bf16";
    EXPECT_LT(worst, 0.02);
  } else {
    EXPECT_LT(worst, 1e-6) << "auto did not embed in fp32 on a CPU without native bf16";
  }
}

// rerank::eval: file formats, trec_eval metric semantics, significance tests, reports.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "rerank/error.hpp"
#include "rerank/eval.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
namespace ev = rerank::eval;
using rerank::InputError;
using rerank::test::data;

namespace {

fs::path eval_data(const std::string& f) { return data("eval/" + f); }

// A scratch file holding `text`, removed at scope exit.
struct TempFile {
  fs::path path;
  explicit TempFile(const std::string& text, const std::string& name = "f.txt") {
    static int n = 0;
    fs::path dir = fs::temp_directory_path() / ("rerank-eval-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::create_directories(dir);
    path = dir / name;
    std::ofstream(path, std::ios::binary) << text;
  }
  ~TempFile() { fs::remove_all(path.parent_path()); }
};

// `fn` throws InputError whose message contains every needle.
template <class F>
void expect_input_error(F&& fn, std::initializer_list<std::string> needles) {
  try {
    fn();
    FAIL() << "no InputError";
  } catch (const InputError& e) {
    for (const auto& n : needles) EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what() << "\n  lacks: " << n;
  }
}

double value(const ev::Evaluation& e, const std::string& metric, const std::string& qid) {
  int m = e.index(metric);
  EXPECT_GE(m, 0) << metric;
  for (size_t q = 0; q < e.query_ids.size(); ++q)
    if (e.query_ids[q] == qid) return e.values[static_cast<size_t>(m)][q];
  ADD_FAILURE() << "query " << qid << " not evaluated";
  return NAN;
}

}  // namespace

// ----------------------------------------------------------------------------------------------------------- formats

TEST(EvalFormats, BeirTsvAndTrecQrelsAreAutoDetectedAndAgree) {
  auto trec = ev::read_qrels(eval_data("toy.qrels"));
  auto beir = ev::read_qrels(eval_data("toy.tsv"));
  EXPECT_EQ(trec.queries, beir.queries);
  EXPECT_EQ(trec.num_judgments(), 12u);
  EXPECT_EQ(trec.queries.at("q1").at("d4"), 3);
  EXPECT_EQ(ev::read_qrels(eval_data("toy.tsv"), ev::QrelsFormat::Beir).queries, beir.queries);
}

TEST(EvalFormats, CranfieldCodesMapToGradedRelevance) {
  EXPECT_EQ(ev::cranfield_relevance(1), 4);
  EXPECT_EQ(ev::cranfield_relevance(2), 3);
  EXPECT_EQ(ev::cranfield_relevance(3), 2);
  EXPECT_EQ(ev::cranfield_relevance(4), 1);
  EXPECT_EQ(ev::cranfield_relevance(-1), 0);
  EXPECT_THROW(ev::cranfield_relevance(5), InputError);
  auto q = ev::read_qrels(eval_data("cranqrel"));  // auto-detected by name
  ASSERT_EQ(q.queries.size(), 3u);
  EXPECT_EQ(q.queries.at("1").at("184"), 3);   // code 2
  EXPECT_EQ(q.queries.at("1").at("12"), 2);    // code 3
  EXPECT_EQ(q.queries.at("1").at("486"), 0);   // code -1
  EXPECT_EQ(q.queries.at("3").at("485"), 0);
}

TEST(EvalFormats, CisiAndMedRelevanceFiles) {
  auto cisi = ev::read_qrels(eval_data("CISI.REL"));  // CRLF, `qid docid 0 0.000000`
  ASSERT_EQ(cisi.queries.size(), 1u);
  EXPECT_EQ(cisi.queries.at("1").size(), 5u);
  EXPECT_EQ(cisi.queries.at("1").at("28"), 1);
  auto med = ev::read_qrels(eval_data("MED.REL"));  // TREC layout
  EXPECT_EQ(med.queries.at("1").at("13"), 1);
  EXPECT_EQ(med.num_judgments(), 6u);
}

TEST(EvalFormats, SmartQueryFiles) {
  auto cran = ev::read_queries(eval_data("cran.qry"));
  ASSERT_EQ(cran.size(), 3u);
  EXPECT_EQ(cran[2].id, "3");  // `.I 004` is the third query; cranqrel numbers queries by position
  EXPECT_EQ(cran[2].text, "what problems of heat conduction in composite slabs have been solved so far .");
  auto cisi = ev::read_queries(eval_data("CISI.QRY"));  // CRLF
  ASSERT_EQ(cisi.size(), 3u);
  EXPECT_EQ(cisi[0].id, "1");
  EXPECT_EQ(cisi[1].text.find('\r'), std::string::npos);
  EXPECT_EQ(cisi[2].text, "How are query texts joined across lines?");  // .W wins over .T; .A/.B ignored
  auto med = ev::read_queries(eval_data("MED.QRY"));
  ASSERT_EQ(med.size(), 2u);
  EXPECT_EQ(med[0].text, "the crystalline lens in vertebrates, including humans.");
}

TEST(EvalFormats, TrecTopicsAndBeirJsonl) {
  auto topics = ev::read_queries(eval_data("topics.txt"));
  ASSERT_EQ(topics.size(), 2u);
  EXPECT_EQ(topics[0].id, "301");
  EXPECT_EQ(topics[0].text, "International Organized Crime");
  EXPECT_EQ(topics[1].id, "302");
  EXPECT_EQ(topics[1].text, "Poliomyelitis and Post-Polio");
  auto beir = ev::read_queries(eval_data("queries.jsonl"));
  ASSERT_EQ(beir.size(), 2u);
  EXPECT_EQ(beir[1].id, "2");
  EXPECT_EQ(beir[1].text, "1 in 5 million in UK have abnormal PrP positivity.");
}

TEST(EvalFormats, MalformedQrelsNameFileAndLine) {
  auto q = [](const std::string& text, const std::string& name = "q.txt", ev::QrelsFormat f = ev::QrelsFormat::Auto) {
    TempFile t(text, name);
    ev::read_qrels(t.path, f);
  };
  expect_input_error([&] { q("q1 0 d1 1\nq1 0 d2\n"); }, {"q.txt line 2", "4 columns"});
  expect_input_error([&] { q("q1 0 d1 high\n"); }, {"line 1", "not an integer"});
  expect_input_error([&] { q("q1 0 d1 1\n\nq1 0 d1 2\n"); }, {"line 3", "already judged on line 1"});
  expect_input_error([&] { q("q1\td1\t1\n"); }, {"line 1", "cannot tell the qrels format"});
  expect_input_error([&] { q("q1\td1\t1\n", "q.tsv", ev::QrelsFormat::Beir); }, {"line 1", "BEIR header"});
  expect_input_error([&] { q("query-id\tcorpus-id\tscore\nq1\td1\n"); }, {"line 2", "3 tab-separated"});
  expect_input_error([&] { q("1 184 7\n", "cranqrel"); }, {"cranqrel line 1", "code 7"});
  expect_input_error([&] { q("1 28 0 0.0\n1 28 0 0.0\n", "CISI.REL"); }, {"line 2", "already judged"});
  expect_input_error([&] { q(std::string("q1 0 d\0 1\n", 10)); }, {"NUL"});
  expect_input_error([] { ev::read_qrels("/nonexistent/qrels.txt"); }, {"/nonexistent/qrels.txt", "cannot open"});
  expect_input_error([] { ev::read_qrels(fs::temp_directory_path()); }, {"directory"});
  expect_input_error([] { ev::parse_qrels_format("xml"); }, {"unknown qrels format"});
  EXPECT_TRUE(ev::read_qrels(TempFile("").path).queries.empty());
}

TEST(EvalFormats, MalformedRunsNameFileAndLine) {
  auto r = [](const std::string& text) {
    TempFile t(text, "run.trec");
    return ev::read_run(t.path);
  };
  expect_input_error([&] { r("q1 Q0 d1 1 2.0\n"); }, {"run.trec line 1", "6 columns"});
  expect_input_error([&] { r("q1 Q0 d1 1 2.0 t\nq1 Q0 d2 2 high t\n"); }, {"line 2", "score \"high\""});
  expect_input_error([&] { r("q1 Q0 d1 1 nan t\n"); }, {"line 1", "not a finite number"});
  expect_input_error([&] { r("q1 Q0 d1 1 inf t\n"); }, {"line 1", "not a finite number"});
  expect_input_error([&] { r("q1 Q0 d1 first 1 t\n"); }, {"line 1", "rank"});
  expect_input_error([&] { r("q1 Q0 d1 1 2 t\nq2 Q0 d1 1 2 t\nq1 Q0 d1 3 1 t\n"); },
                     {"line 3", "document \"d1\" already appears on line 1"});
  auto empty = r("\n\n");
  EXPECT_TRUE(empty.queries.empty());
  auto ok = r("q1 Q0 d1 1 -2.5e1 t\r\nq1\tQ0\td2\t2\t+3\tt\n");  // CRLF, tabs, signs and exponents
  ASSERT_EQ(ok.queries.at("q1").size(), 2u);
  EXPECT_EQ(ok.queries.at("q1")[0].score, -25.0);
}

TEST(EvalFormats, MalformedQueriesNameFileAndLine) {
  auto r = [](const std::string& text, const std::string& name, ev::QueriesFormat f = ev::QueriesFormat::Auto) {
    TempFile t(text, name);
    return ev::read_queries(t.path, f);
  };
  expect_input_error([&] { r("{\"_id\": \"1\", \"text\": \"a\"}\n{\"_id\": 1\n", "q.jsonl"); }, {"q.jsonl line 2", "invalid JSON"});
  expect_input_error([&] { r("{\"text\": \"a\"}\n", "q.jsonl"); }, {"line 1", "_id"});
  expect_input_error([&] { r("{\"_id\": \"1\", \"text\": \"a\"}\n{\"_id\": \"1\", \"text\": \"b\"}\n", "q.jsonl"); }, {"appears twice"});
  expect_input_error([&] { r("<top>\n<num> Number: 1\n<title> x\n", "t.txt"); }, {"never closed"});
  expect_input_error([&] { r("<top>\n<title> x\n</top>\n", "t.txt"); }, {"line 3", "no <num>"});
  expect_input_error([&] { r("hello\n.I 1\n.W\nx\n", "Q.QRY", ev::QueriesFormat::Smart); }, {"line 1", ".I"});
  expect_input_error([&] { r(".I one\n.W\nx\n", "Q.QRY"); }, {"line 1", ".I <number>"});
  expect_input_error([&] { r(".I 1\n.W\n.I 2\n.W\nx\n", "Q.QRY"); }, {"line 1", "no .W"});
  expect_input_error([&] { r("whatever\n", "q.txt"); }, {"cannot tell the queries format"});
}

// ----------------------------------------------------------------------------------------------------------- metrics

TEST(EvalMetrics, NamesAreCaseInsensitiveAndAcceptTrecEvalForms) {
  std::vector<std::pair<std::string, std::string>> cases = {
      {"NDCG@10", "ndcg@10"}, {"ndcg_cut_10", "ndcg@10"}, {"ndcg_cut.10", "ndcg@10"}, {"map@100", "map@100"},
      {"map_cut_100", "map@100"}, {"MAP", "map"}, {"mrr@10", "mrr@10"}, {"recip_rank", "mrr"}, {"P_5", "p@5"},
      {"P.5", "p@5"}, {"p@5", "p@5"}, {"recall_100", "recall@100"}, {"Recall@100", "recall@100"}, {"Rprec", "rprec"},
      {"success_10", "hit@10"}, {"hit@10", "hit@10"}, {"ndcg", "ndcg"}, {" mrr@10 ", "mrr@10"}};
  for (const auto& [in, want] : cases) EXPECT_EQ(ev::parse_metric(in).name, want) << in;
  for (const char* bad : {"p", "recall", "foo@3", "ndcg@0", "ndcg@-1", "rprec@5", "ndcg@", "hit", "ndcg@ten", ""})
    EXPECT_THROW(ev::parse_metric(bad), InputError) << bad;
  auto list = ev::parse_metrics("ndcg@10, NDCG_CUT_10,p@5,,");
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(ev::parse_metrics(ev::kDefaultMetrics).size(), 5u);
  expect_input_error([] { ev::parse_metrics("ndcg@10,bleu"); }, {"unknown metric \"bleu\"", "accepted"});
}

TEST(EvalMetrics, TiesAreBrokenByScoreThenDocIdDescending) {
  auto docs = ev::ranked({{"d2", 1.0}, {"d10", 1.0}, {"a", 2.0}, {"d3", 1.0}, {"Z", 1.0}});
  std::vector<std::string> ids;
  for (auto& d : docs) ids.push_back(d.doc_id);
  EXPECT_EQ(ids, (std::vector<std::string>{"a", "d3", "d2", "d10", "Z"}));  // byte order, descending
  auto qrels = ev::read_qrels(eval_data("toy.qrels"));
  auto run = ev::read_run(eval_data("toy_a.trec"));  // the file's rank column is ignored
  auto e = ev::evaluate(qrels, run, ev::parse_metrics("mrr,p@1,p@5,hit@1"));
  // q1: d5 (unjudged), d3 (0), d2 (1) share score 2.5 -> order d5, d3, d2: first relevant at rank 3
  EXPECT_DOUBLE_EQ(value(e, "mrr", "q1"), 1.0 / 3);
  EXPECT_DOUBLE_EQ(value(e, "p@5", "q1"), 2.0 / 5);
  // q4: z (unjudged), b, a share score 1 -> z first
  EXPECT_DOUBLE_EQ(value(e, "mrr", "q4"), 0.5);
  EXPECT_DOUBLE_EQ(value(e, "hit@1", "q4"), 0.0);
}

TEST(EvalMetrics, GradedNdcgUsesRelevanceAsGainAndLog2Discount) {
  auto qrels = ev::read_qrels(eval_data("toy.qrels"));
  auto e = ev::evaluate(qrels, ev::read_run(eval_data("toy_a.trec")), ev::parse_metrics("ndcg@3,ndcg@6"));
  // q1 ranked rels: 0 0 1 2 0 3; ideal 3 2 1 1
  const double idcg3 = 3 + 2 / std::log2(3.0) + 1 / std::log2(4.0);
  EXPECT_NEAR(value(e, "ndcg@3", "q1"), (1 / std::log2(4.0)) / idcg3, 1e-12);
  const double dcg6 = 1 / std::log2(4.0) + 2 / std::log2(5.0) + 3 / std::log2(7.0);
  const double idcg6 = idcg3 + 1 / std::log2(5.0);
  EXPECT_NEAR(value(e, "ndcg@6", "q1"), dcg6 / idcg6, 1e-12);
}

TEST(EvalMetrics, QueryAveragingFollowsTrecEval) {
  auto qrels = ev::read_qrels(eval_data("toy.qrels"));
  auto run = ev::read_run(eval_data("toy_a.trec"));
  auto metrics = ev::parse_metrics("map,p@5");
  auto e = ev::evaluate(qrels, run, metrics);
  // q1, q2 (judged, nothing relevant: counts 0), q4; q3 is missing from the run, q9 is not in the qrels
  EXPECT_EQ(e.query_ids, (std::vector<std::string>{"q1", "q2", "q4"}));
  EXPECT_EQ(e.missing, (std::vector<std::string>{"q3"}));
  EXPECT_EQ(e.ignored, 1u);
  EXPECT_EQ(value(e, "map", "q2"), 0.0);
  auto c = ev::evaluate(qrels, run, metrics, {.complete = true});
  EXPECT_EQ(c.query_ids.size(), 4u);
  EXPECT_EQ(value(c, "map", "q3"), 0.0);
  EXPECT_NEAR(c.mean(0), e.mean(0) * 3 / 4, 1e-12);
}

TEST(EvalMetrics, RelevanceLevel) {
  auto qrels = ev::read_qrels(eval_data("toy.qrels"));
  auto e = ev::evaluate(qrels, ev::read_run(eval_data("toy_a.trec")), ev::parse_metrics("p@5,recall@6,ndcg@3"), {.relevance_level = 2});
  EXPECT_DOUBLE_EQ(value(e, "p@5", "q1"), 1.0 / 5);     // only d1 (2) and d4 (3) are relevant
  EXPECT_DOUBLE_EQ(value(e, "recall@6", "q1"), 1.0);    // both within the top 6
  const double idcg3 = 3 + 2 / std::log2(3.0) + 1 / std::log2(4.0);
  // nDCG gains ignore the threshold, as trec_eval (pytrec_eval relevance_level=2 gives the same 0.10500...)
  EXPECT_NEAR(value(e, "ndcg@3", "q1"), (1 / std::log2(4.0)) / idcg3, 1e-12);
}

TEST(EvalMetrics, InMemoryRunsEqualFilesAndRejectDuplicates) {
  auto qrels = ev::read_qrels(eval_data("toy.qrels"));
  auto metrics = ev::parse_metrics("ndcg@10,map,mrr@10,rprec");
  ev::Run mem("mem");
  // same content as toy_a.trec, in another order
  for (auto [q, d, s] : std::vector<std::tuple<const char*, const char*, double>>{
           {"q4", "y", 0.5}, {"q1", "d4", 0.25}, {"q1", "d6", 0.5}, {"q1", "d1", 1}, {"q1", "d5", 2.5}, {"q1", "d2", 2.5},
           {"q1", "d3", 2.5}, {"q2", "x", 1}, {"q2", "d5", 2}, {"q2", "d1", 3}, {"q4", "b", 1}, {"q4", "a", 1}, {"q4", "z", 1},
           {"q9", "d1", 1}})
    mem.add(q, d, s);
  auto a = ev::evaluate(qrels, mem, metrics);
  auto b = ev::evaluate(qrels, ev::read_run(eval_data("toy_a.trec")), metrics);
  EXPECT_EQ(a.values, b.values);
  mem.add("q1", "d4", 0.1);
  expect_input_error([&] { ev::evaluate(qrels, mem, metrics); }, {"run \"mem\"", "query \"q1\"", "\"d4\" appears twice"});
  mem.add("q77", "d4", 0.1);
  mem.add("q77", "d4", 0.1);  // a query absent from the qrels is ignored, duplicates and all
}

TEST(EvalMetrics, EmptyRun) {
  auto qrels = ev::read_qrels(eval_data("toy.qrels"));
  ev::Run empty("empty");
  auto metrics = ev::parse_metrics(ev::kDefaultMetrics);
  auto e = ev::evaluate(qrels, empty, metrics);
  EXPECT_TRUE(e.query_ids.empty());
  EXPECT_EQ(e.mean(0), 0.0);
  EXPECT_EQ(e.missing.size(), 4u);
  auto c = ev::evaluate(qrels, empty, metrics, {.complete = true});
  EXPECT_EQ(c.query_ids.size(), 4u);
  for (size_t m = 0; m < metrics.size(); ++m) EXPECT_EQ(c.mean(m), 0.0);
}

// -------------------------------------------------------------------------------------------------------- statistics

TEST(EvalStats, TTestAndDistributionsMatchScipy) {
  // Expected values: scipy 1.17.1 (stats.ttest_rel, stats.t.cdf, stats.beta.cdf), written by
  // scripts/reference/trec_eval_reference.py ttest into tests/data/eval/ttest.reference.json.
  auto ref = nlohmann::json::parse(std::ifstream(eval_data("ttest.reference.json")));
  for (const auto& c : ref["ttest_rel"]) {
    auto r = ev::paired_t_test(c["a"].get<std::vector<double>>(), c["b"].get<std::vector<double>>());
    EXPECT_NEAR(r.t, c["t"].get<double>(), 1e-10);
    EXPECT_NEAR(r.p, c["p"].get<double>(), 1e-10);
  }
  for (const auto& c : ref["t_cdf"]) EXPECT_NEAR(ev::student_t_cdf(c["t"], c["df"]), c["cdf"].get<double>(), 1e-12) << c;
  for (const auto& c : ref["beta_cdf"]) EXPECT_NEAR(ev::incomplete_beta(c["a"], c["b"], c["x"]), c["I"].get<double>(), 1e-12) << c;
  // A literal case too: scipy.stats.ttest_rel([0.2,0.5,0.3,0.9,0.7,0.95,0.1,0.45], [0.1,0.4,0.35,0.8,0.5,0.9,0.2,0.3])
  auto r = ev::paired_t_test({0.1, 0.4, 0.35, 0.8, 0.5, 0.9, 0.2, 0.3}, {0.2, 0.5, 0.3, 0.9, 0.7, 0.95, 0.1, 0.45});
  EXPECT_NEAR(r.t, ref["ttest_rel"][0]["t"].get<double>(), 1e-12);
  EXPECT_EQ(r.df, 7);
  // Degenerate cases
  EXPECT_EQ(ev::paired_t_test({1, 2}, {1, 2}).p, 1.0);
  EXPECT_EQ(ev::paired_t_test({1, 2}, {2, 3}).p, 0.0);
  EXPECT_TRUE(std::isnan(ev::paired_t_test({1}, {2}).p));
  EXPECT_THROW(ev::paired_t_test({1}, {2, 3}), InputError);
}

TEST(EvalStats, RandomizationTest) {
  std::vector<double> a = {0.1, 0.4, 0.35, 0.8, 0.5, 0.9, 0.2, 0.3}, b = {0.2, 0.5, 0.3, 0.9, 0.7, 0.95, 0.1, 0.45};
  EXPECT_EQ(ev::randomization_test(a, a), 1.0);
  double p1 = ev::randomization_test(a, b, 10000, 7), p2 = ev::randomization_test(a, b, 10000, 7);
  EXPECT_EQ(p1, p2);  // seeded: reproducible
  // 8 pairs: the exact two-sided sign-flip p is k/256; sampling 10,000 flips lands near it
  int exact = 0;
  double obs = 0;
  for (size_t i = 0; i < a.size(); ++i) obs += b[i] - a[i];
  for (int mask = 0; mask < 256; ++mask) {
    double s = 0;
    for (size_t i = 0; i < a.size(); ++i) s += ((mask >> i) & 1) ? -(b[i] - a[i]) : (b[i] - a[i]);
    exact += std::fabs(s) >= std::fabs(obs) - 1e-12;
  }
  EXPECT_NEAR(p1, exact / 256.0, 0.015);
  std::vector<double> lo(30, 0.0), hi(30, 1.0);
  EXPECT_NEAR(ev::randomization_test(lo, hi, 1000), 1.0 / 1001, 1e-12);  // only the all-same-sign flips (2 in 2^30) reach it
}

TEST(EvalStats, CompareCountsWinsTiesLossesOverTheUnionOfQueries) {
  auto qrels = ev::read_qrels(eval_data("toy.qrels"));
  auto metrics = ev::parse_metrics("ndcg@10,map");
  auto a = ev::evaluate(qrels, ev::read_run(eval_data("toy_a.trec")), metrics);
  auto b = ev::evaluate(qrels, ev::read_run(eval_data("toy_b.trec")), metrics);
  auto c = ev::compare(a, b, 0, 1000);
  EXPECT_EQ(c.metric, "ndcg@10");
  EXPECT_EQ(c.n, 3u);
  EXPECT_EQ(c.wins, 1u);    // q1
  EXPECT_EQ(c.ties, 1u);    // q2: 0 and 0
  EXPECT_EQ(c.losses, 1u);  // q4
  EXPECT_NEAR(c.diff, b.mean(0) - a.mean(0), 1e-12);
  EXPECT_EQ(c.deltas.size(), 3u);
  EXPECT_GT(c.p_randomization, 0.0);
  EXPECT_LE(c.p_randomization, 1.0);
}

// ----------------------------------------------------------------------------------------------------------- reports

TEST(EvalReport, WritesSelfContainedHtmlAndMarkdown) {
  auto qrels = ev::read_qrels(eval_data("toy.qrels"));
  auto metrics = ev::parse_metrics("ndcg@10,p@5");
  auto a = ev::evaluate(qrels, ev::read_run(eval_data("toy_a.trec")), metrics);
  auto b = ev::evaluate(qrels, ev::read_run(eval_data("toy_b.trec")), metrics);
  a.run = "first <stage>";
  std::vector<std::vector<ev::Comparison>> cmps{{ev::compare(a, b, 0, 100), ev::compare(a, b, 1, 100)}};
  TempFile t("", "unused");
  fs::path dir = t.path.parent_path() / "report";
  ev::write_report(dir, {a, b}, cmps, "toy");
  std::ifstream h(dir / "report.html");
  std::string html((std::istreambuf_iterator<char>(h)), {});
  EXPECT_NE(html.find("<table id=\"means\">"), std::string::npos);
  EXPECT_NE(html.find("first &lt;stage&gt;"), std::string::npos);
  EXPECT_EQ(html.find("first <stage>"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("src=\"http"), std::string::npos);
  EXPECT_EQ(html.find("href=\"http"), std::string::npos);
  size_t svgs = 0;
  for (size_t p = html.find("<svg"); p != std::string::npos; p = html.find("<svg", p + 1)) ++svgs;
  EXPECT_EQ(svgs, 3u);  // bars + 2 histograms
  EXPECT_TRUE(fs::exists(dir / "report.md"));
  EXPECT_TRUE(fs::exists(dir / "bars.svg"));
  EXPECT_TRUE(fs::exists(dir / "delta-1-ndcg_10.svg"));
  std::ifstream m(dir / "report.md");
  std::string md((std::istreambuf_iterator<char>(m)), {});
  EXPECT_NE(md.find("| ndcg@10 |"), std::string::npos);
  EXPECT_NE(md.find("![Mean per metric](bars.svg)"), std::string::npos);
  auto hist = ev::svg_histogram({-0.5, 0.0, 0.0, 0.25, 1.0}, "h", 5);
  EXPECT_NE(hist.find("2 queries"), std::string::npos);  // the zero bin
}


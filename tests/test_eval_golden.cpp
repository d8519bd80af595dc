// rerank::eval against an independent reference: pytrec_eval (trec_eval compiled in), values written by
// scripts/reference/trec_eval_reference.py into tests/data/eval/*.reference.json. Also `rerank eval` end to end.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "rerank/eval.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
namespace ev = rerank::eval;
using rerank::test::data;
using rerank::test::run_cli;

namespace {

std::string p(const std::string& f) { return data("eval/" + f).string(); }

nlohmann::json load(const std::string& f) { return nlohmann::json::parse(std::ifstream(p(f))); }

// Every metric of the reference, per query (1e-9) and mean (1e-4, the bar).
void check_against(const std::string& qrels_file, const std::string& run_file, const std::string& ref_file, bool print) {
  auto ref = load(ref_file)["metrics"];
  std::string names;
  for (auto it = ref.begin(); it != ref.end(); ++it) names += (names.empty() ? "" : ",") + it.key();
  auto metrics = ev::parse_metrics(names);
  auto e = ev::evaluate(ev::read_qrels(p(qrels_file)), ev::read_run(p(run_file)), metrics);
  for (size_t m = 0; m < metrics.size(); ++m) {
    const auto& r = ref[metrics[m].name];
    ASSERT_EQ(e.query_ids.size(), r["per_query"].size()) << metrics[m].name;
    double max_diff = 0;
    for (size_t q = 0; q < e.query_ids.size(); ++q) {
      const double want = r["per_query"][e.query_ids[q]].get<double>();
      EXPECT_NEAR(e.values[m][q], want, 1e-9) << metrics[m].name << " query " << e.query_ids[q];
      max_diff = std::max(max_diff, std::fabs(e.values[m][q] - want));
    }
    const double mean_diff = std::fabs(e.mean(m) - r["mean"].get<double>());
    EXPECT_LT(mean_diff, 1e-4) << metrics[m].name;
    if (print)
      std::printf("  %-11s ours %.6f  pytrec_eval %.6f  |mean diff| %.1e  max |per-query diff| %.1e\n",
                  metrics[m].name.c_str(), e.mean(m), r["mean"].get<double>(), mean_diff, max_diff);
  }
}

}  // namespace

TEST(EvalGolden, ToyRunsWithTiesGradesAndUnjudgedMatchPytrecEval) {
  check_against("toy.qrels", "toy_a.trec", "toy_a.reference.json", false);
  check_against("toy.qrels", "toy_b.trec", "toy_b.reference.json", false);
}

TEST(EvalGolden, SciFactBm25MatchesPytrecEval) {
  check_against("scifact_test.qrels.tsv", "scifact_bm25.trec", "scifact_bm25.reference.json", true);
}

TEST(EvalCli, JsonHoldsEachMetricMeanUnderItsName) {
  auto r = run_cli("eval --qrels " + p("scifact_test.qrels.tsv") + " --run " + p("scifact_bm25.trec") + " --json", "");
  ASSERT_EQ(r.status, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  auto ref = load("scifact_bm25.reference.json")["metrics"];
  const auto& m = j["runs"][0]["metrics"];
  ASSERT_EQ(m.size(), 5u);  // the default metrics
  for (const char* name : {"ndcg@10", "map@100", "mrr@10", "p@5", "recall@100"})
    EXPECT_NEAR(m[name].get<double>(), ref[name]["mean"].get<double>(), 1e-4) << name;
  EXPECT_EQ(j["runs"][0]["queries"], 300);
  EXPECT_TRUE(j["comparisons"].empty());
}

TEST(EvalCli, TwoRunsTableAndComparison) {
  auto r = run_cli("eval --qrels " + p("toy.tsv") + " --run " + p("toy_a.trec") + " --run " + p("toy_b.trec") +
                       " --metrics NDCG@10,P_5 --per-query --permutations 500",
                   "");
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* s : {"metric", "ndcg@10", "p@5", "diff", "p (t-test)", "p (randomization)", "wins / ties / losses", "1 / 1 / 1", "queries"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;
  EXPECT_NE(r.out.find("toy_b.trec\tq4\t"), std::string::npos) << r.out;  // per-query rows
  EXPECT_NE(r.err.find("not in the run"), std::string::npos) << r.err;   // q3 missing, said on stderr

  auto j = run_cli("eval --qrels " + p("toy.tsv") + " --run " + p("toy_a.trec") + " --run " + p("toy_b.trec") +
                       " --metrics ndcg@10 --json --per-query --permutations 500 -c",
                   "");
  ASSERT_EQ(j.status, 0) << j.err;
  auto o = nlohmann::json::parse(j.out);
  EXPECT_EQ(o["runs"][0]["queries"], 4);  // --complete: q3 counts 0
  EXPECT_EQ(o["runs"][1]["per_query"]["q3"]["ndcg@10"], 0.0);
  const auto& c = o["comparisons"][0]["metrics"]["ndcg@10"];
  for (const char* k : {"baseline", "run", "diff", "t", "p_ttest", "p_randomization", "wins", "ties", "losses"})
    EXPECT_TRUE(c.contains(k)) << k;
}

TEST(EvalCli, ReportDirectory) {
  fs::path dir = fs::temp_directory_path() / ("rerank-eval-report-" + std::to_string(::getpid()));
  auto r = run_cli("eval --qrels " + p("toy.qrels") + " --run " + p("toy_a.trec") + " --run " + p("toy_b.trec") +
                       " --permutations 100 --report " + dir.string(),
                   "");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir / "report.html"));
  EXPECT_TRUE(fs::exists(dir / "report.md"));
  fs::remove_all(dir);
}

TEST(EvalCli, ErrorsExitOneWithTheFileAndLine) {
  fs::path bad = fs::temp_directory_path() / ("rerank-eval-bad-" + std::to_string(::getpid()) + ".trec");
  std::ofstream(bad) << "q1 Q0 d1 1 2.0 t\nq1 Q0 d1 2 1.0 t\n";
  auto r = run_cli("eval --qrels " + p("toy.qrels") + " --run " + bad.string(), "");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("rerank: error: " + bad.string() + " line 2"), std::string::npos) << r.err;
  fs::remove(bad);
  auto m = run_cli("eval --qrels " + p("toy.qrels") + " --run " + p("toy_a.trec") + " --metrics ndcg@10,bleu", "");
  EXPECT_EQ(m.status, 1);
  EXPECT_NE(m.err.find("unknown metric \"bleu\""), std::string::npos) << m.err;
  auto q = run_cli("eval --qrels /nonexistent/q --run " + p("toy_a.trec"), "");
  EXPECT_EQ(q.status, 1);
  EXPECT_NE(q.err.find("/nonexistent/q"), std::string::npos) << q.err;
  auto u = run_cli("eval --run " + p("toy_a.trec"), "");  // usage error: CLI11's code, not a crash
  EXPECT_GT(u.status, 0);
  EXPECT_LT(u.status, 126);
}

TEST(EvalCli, HelpTeachesWithAnExample) {
  auto r = run_cli("eval --help", "");
  ASSERT_EQ(r.status, 0);
  for (const char* s : {"Example", "--qrels", "--run", "--metrics", "--json", "--per-query", "--report", "ndcg@10"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s;
}

// End-to-end evaluation (eval::evaluate_pipeline, `rerank eval --collection`): both stages reported, numbers equal
// to the pipeline's own search results and to the run-file mode on the runs it writes, the sweep grid, the
// report, and bad inputs. Data: tests/data/pipeline (36 documents, 14 queries of which 12 judged, q99 judged
// without a text) and the random-weight cross-encoder ce-tiny.
#include <gtest/gtest.h>

#include <fstream>

#include "rerank/eval.hpp"
#include "rerank/pipeline.hpp"
#include "rerank/rerank.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
namespace ev = rerank::eval;
using namespace rerank;

namespace {

const fs::path kCe = test::data("encoders/models/ce-tiny");
fs::path pdata(const std::string& f) { return test::data("pipeline/" + f); }

fs::path temp_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("rerank-peval-" + std::to_string(::getpid()) + "-" + name);
  fs::remove_all(p);
  return p;
}

/// The fixture corpus as a BM25 collection (built once per process).
const fs::path& collection_dir() {
  static fs::path dir = [] {
    fs::path d = temp_dir("coll");
    auto c = Collection::open_or_create(d);
    read_documents(pdata("corpus.jsonl"), DocumentFormat::Auto, 100,
                   [&](std::vector<Document>& docs, const ReadProgress&) { c.add(docs); });
    return d;
  }();
  return dir;
}

std::shared_ptr<Reranker> ce_tiny() { return make_reranker(kCe.string(), BackendOptions{.engine = {.threads = 1}}); }

ev::PipelineEvalOptions options(const std::string& metrics = "ndcg@10,recall@10,p@5,mrr@10,map") {
  ev::PipelineEvalOptions o;
  o.metrics = ev::parse_metrics(metrics);
  o.permutations = 2000;
  return o;
}

/// The run a fresh Pipeline's search() gives for the judged queries: first stage or final ranking.
ev::Run search_run(Collection& c, size_t k, size_t top_n, bool reranked, const std::vector<ev::Query>& queries,
                   const ev::Qrels& qrels) {
  Pipeline p(c, {.retriever = Retriever::Bm25, .k = k, .top_n = top_n}, reranked ? ce_tiny() : nullptr);
  ev::Run run("search");
  for (const auto& q : queries) {
    if (!qrels.queries.count(q.id)) continue;
    auto r = p.search(q.text);
    run.queries[q.id];
    for (const auto& x : reranked ? r.reranked : r.first_stage) run.add(q.id, x.doc_id, x.score);
  }
  return run;
}

void expect_same_means(const ev::Evaluation& a, const ev::Evaluation& b, const std::string& what) {
  ASSERT_EQ(a.metrics.size(), b.metrics.size());
  EXPECT_EQ(a.query_ids, b.query_ids) << what;
  for (size_t m = 0; m < a.metrics.size(); ++m)
    for (size_t q = 0; q < a.query_ids.size() && q < b.query_ids.size(); ++q)
      EXPECT_DOUBLE_EQ(a.values[m][q], b.values[m][q]) << what << " " << a.metrics[m].name << " " << a.query_ids[q];
}

}  // namespace

TEST(PipelineEval, BothStagesWithSignificanceMatchTheSearchResults) {
  auto c = Collection::open(collection_dir());
  Pipeline p(c, {.retriever = Retriever::Bm25, .k = 10, .top_n = 0}, ce_tiny());
  const auto queries = ev::read_queries(pdata("queries.jsonl"));
  const auto qrels = ev::read_qrels(pdata("qrels.tsv"));
  size_t calls = 0;
  auto r = ev::evaluate_pipeline(p, queries, qrels, options(), [&](size_t done, size_t total) {
    ++calls;
    EXPECT_EQ(done, calls);
    EXPECT_EQ(total, 12u);
  });
  EXPECT_EQ(calls, 12u);
  EXPECT_EQ(r.query_ids.size(), 12u);
  EXPECT_EQ(r.queries_in_file, 14u);
  EXPECT_EQ(r.unjudged_queries, 2u);     // u01, u02
  EXPECT_EQ(r.judged_without_text, 1u);  // q99
  EXPECT_EQ(r.empty_results, 0u);
  EXPECT_EQ(r.documents, 36u);
  EXPECT_EQ(r.retriever, "bm25");
  EXPECT_EQ(r.reranker, "ce-tiny");
  ASSERT_EQ(r.stages.size(), 1u);
  ASSERT_EQ(r.cells.size(), 1u);
  const auto& h = r.headline();
  EXPECT_EQ(h.k, 10u);
  EXPECT_EQ(h.top_n, 0u);
  ASSERT_EQ(h.comparisons.size(), 5u);
  for (const auto& cmp : h.comparisons) {
    EXPECT_EQ(cmp.n, 12u);
    EXPECT_EQ(cmp.wins + cmp.ties + cmp.losses, 12u);
    EXPECT_GT(cmp.p_randomization, 0.0);
    EXPECT_LE(cmp.p_randomization, 1.0);
    EXPECT_GE(cmp.ttest.p, 0.0);
    EXPECT_LE(cmp.ttest.p, 1.0);
    EXPECT_NEAR(cmp.diff, cmp.mean_b - cmp.mean_a, 1e-12);
  }
  // recall@10 cannot change when all 10 candidates are kept: reranking only reorders them
  EXPECT_DOUBLE_EQ(h.comparisons[1].diff, 0.0);
  EXPECT_EQ(h.comparisons[1].ties, 12u);
  // the numbers are those of the pipeline's own search(), evaluated on their own
  auto fs_eval = ev::evaluate(qrels, search_run(c, 10, 0, false, queries, qrels), r.metrics);
  auto rr_eval = ev::evaluate(qrels, search_run(c, 10, 0, true, queries, qrels), r.metrics);
  expect_same_means(r.stages[0].evaluation, fs_eval, "first stage");
  expect_same_means(h.evaluation, rr_eval, "reranked");
  // latency: one value per query and stage
  const auto& s = r.stages[0];
  EXPECT_EQ(s.first_stage.n, 12u);
  EXPECT_EQ(s.rerank.n, 12u);
  EXPECT_EQ(s.total.n, 12u);
  EXPECT_LE(s.total.p50, s.total.p95);
  EXPECT_GT(s.rerank.p50, 0.0);
  EXPECT_GE(s.total.p50, s.rerank.p50);
  EXPECT_EQ(r.per_query_ms.size(), 12u);
  // the tables the CLI prints and the reports show
  auto tables = ev::pipeline_tables(r);
  ASSERT_GE(tables.size(), 3u);
  EXPECT_EQ(tables[0].id, "setup");
  EXPECT_EQ(tables[1].id, "comparison");
  EXPECT_NE(tables[1].text().find("p (randomization)"), std::string::npos);
  EXPECT_NE(tables[1].note.find("all 10 first-stage candidates"), std::string::npos) << tables[1].note;
  EXPECT_EQ(tables[2].id, "latency");
}

TEST(PipelineEval, SweepGridCellsEqualSeparateRuns) {
  auto c = Collection::open(collection_dir());
  Pipeline p(c, {.retriever = Retriever::Bm25, .k = 50}, ce_tiny());
  const auto queries = ev::read_queries(pdata("queries.jsonl"));
  const auto qrels = ev::read_qrels(pdata("qrels.tsv"));
  auto o = options("ndcg@10,p@3,recall@10");
  o.sweep = ev::parse_sweep({"k=3,10,5", "top-n=all,2,5"});
  auto r = ev::evaluate_pipeline(p, queries, qrels, o);
  ASSERT_EQ(r.ks, (std::vector<size_t>{3, 5, 10}));
  ASSERT_EQ(r.top_ns, (std::vector<size_t>{2, 5, 0}));
  ASSERT_EQ(r.stages.size(), 3u);
  ASSERT_EQ(r.cells.size(), 9u);
  EXPECT_EQ(r.headline().k, 10u);
  EXPECT_EQ(r.headline().top_n, 0u);
  for (const auto& s : r.stages) {
    expect_same_means(s.evaluation, ev::evaluate(qrels, search_run(c, s.k, 0, false, queries, qrels), r.metrics),
                      "first stage k=" + std::to_string(s.k));
    EXPECT_EQ(s.total.n, 12u);
  }
  for (const auto& cell : r.cells) {
    const std::string what = "cell k=" + std::to_string(cell.k) + " n=" + std::to_string(cell.top_n);
    expect_same_means(cell.evaluation, ev::evaluate(qrels, search_run(c, cell.k, cell.top_n, true, queries, qrels), r.metrics), what);
    EXPECT_EQ(cell.comparisons.size(), 3u) << what;
    size_t most = 0;
    for (const auto& [q, docs] : cell.run.queries) most = std::max(most, docs.size());
    EXPECT_LE(most, cell.top_n ? cell.top_n : cell.k) << what << ": the reranked run is cut at top-n";
  }
  auto tables = ev::pipeline_tables(r);
  bool sweep = false, cells = false;
  for (const auto& t : tables) {
    if (t.id == "sweep") {
      sweep = true;
      EXPECT_EQ(t.rows.size(), 3u + 9u);  // a first-stage row per k + the cells
    }
    if (t.id == "cells") {
      cells = true;
      EXPECT_EQ(t.rows.size(), 9u * 3u);
    }
  }
  EXPECT_TRUE(sweep);
  EXPECT_TRUE(cells);
  // the report: tables and every plot
  fs::path dir = temp_dir("report");
  ev::write_pipeline_report(dir, r, "sweep <test>");
  std::ifstream in(dir / "report.html");
  std::string html((std::istreambuf_iterator<char>(in)), {});
  for (const char* s : {"<table id=\"setup\"", "<table id=\"comparison\"", "<table id=\"latency\"", "<table id=\"sweep\"",
                        "<table id=\"cells\"", "sweep &lt;test&gt;", "Latency vs candidates", "ndcg@10 vs candidates k",
                        "Before and after reranking", "Per-query ndcg@10"})
    EXPECT_NE(html.find(s), std::string::npos) << s;
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg"));  // only the SVG namespace
  size_t svgs = 0;
  for (size_t q = html.find("<svg"); q != std::string::npos; q = html.find("<svg", q + 1)) ++svgs;
  EXPECT_EQ(svgs, 1u + 3u + 1u + 3u);  // before/after, 3 histograms, latency, 3 metric-vs-k
  for (const char* f : {"report.md", "before-after.svg", "latency.svg", "vs-k-ndcg_10.svg", "delta-p_3.svg"})
    EXPECT_TRUE(fs::exists(dir / f)) << f;
  std::ifstream mdin(dir / "report.md");
  std::string md((std::istreambuf_iterator<char>(mdin)), {});
  EXPECT_NE(md.find("## Sweep: quality and latency per cell"), std::string::npos);
  EXPECT_NE(md.find("](latency.svg)"), std::string::npos);
  fs::remove_all(dir);
}

TEST(PipelineEval, FirstStageOnlyAndBadInputs) {
  auto c = Collection::open(collection_dir());
  Pipeline bm25(c, {.retriever = Retriever::Bm25, .k = 5});
  const auto queries = ev::read_queries(pdata("topics.txt"));  // TREC topics of the same queries
  const auto qrels = ev::read_qrels(pdata("qrels.tsv"));
  auto o = options("ndcg@10");
  o.sweep = ev::parse_sweep({"k=2,5"});
  auto r = ev::evaluate_pipeline(bm25, queries, qrels, o);
  EXPECT_TRUE(r.cells.empty());
  EXPECT_EQ(r.stages.size(), 2u);
  EXPECT_THROW(r.headline(), InputError);
  EXPECT_EQ(ev::pipeline_tables(r)[1].title, "First stage per k");
  o.sweep = ev::parse_sweep({"top-n=3"});
  EXPECT_THROW(ev::evaluate_pipeline(bm25, queries, qrels, o), InputError);  // top-n without a reranker
  ev::Qrels other;
  other.add("x1", "d01", 1);
  other.add("x2", "d02", 1);
  try {
    ev::evaluate_pipeline(bm25, queries, other, options());
    FAIL() << "no InputError";
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("none of the 14 queries"), std::string::npos) << m;
    EXPECT_NE(m.find("\"x1\""), std::string::npos) << m;
  }
  // a query whose first stage finds nothing is run and counts 0
  std::vector<ev::Query> qs{{"q01", "How do I reset my password?"}, {"q02", "the of and"}};
  auto e = ev::evaluate_pipeline(bm25, qs, qrels, options("ndcg@10"));
  EXPECT_EQ(e.query_ids.size(), 2u);
  EXPECT_EQ(e.empty_results, 1u);
  EXPECT_EQ(e.stages[0].evaluation.query_ids.size(), 2u);
}

TEST(PipelineEval, SweepSyntax) {
  auto g = ev::parse_sweep({"k=100,10,20,10 top-n=5,all,3"});
  EXPECT_EQ(g.k, (std::vector<size_t>{10, 20, 100}));
  EXPECT_EQ(g.top_n, (std::vector<size_t>{3, 5, 0}));
  EXPECT_EQ(ev::parse_sweep({"n=4"}).top_n, (std::vector<size_t>{4}));
  EXPECT_EQ(ev::parse_sweep({"top_n=4", "K=7"}).k, (std::vector<size_t>{7}));
  auto bad = [](std::vector<std::string> items, const std::string& needle) {
    try {
      ev::parse_sweep(items);
      ADD_FAILURE() << "no InputError for " << items[0];
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  bad({"k=abc"}, "--sweep k=abc: \"abc\" is not a positive integer");
  bad({"k=10,,20"}, "\"\" is not a positive integer");
  bad({"k=0"}, "\"0\" is not a positive integer");
  bad({"top-n=-3"}, "\"-3\" is not a positive integer (or \"all\")");
  bad({"k="}, "no values");
  bad({"k10"}, "\"k10\" is not KEY=VALUES");
  bad({"depth=10"}, "unknown parameter \"depth\"");
  bad({"k=1", "k=2"}, "k is given twice");
  bad({""}, "nothing to sweep");
}

TEST(PipelineEvalCli, EndToEndEqualsTheRunFileModeOnItsRuns) {
  fs::path coll = collection_dir(), runs = temp_dir("runs"), report = temp_dir("cli-report");
  const std::string common = "eval --collection " + coll.string() + " --queries " + pdata("queries.jsonl").string() +
                             " --qrels " + pdata("qrels.tsv").string() + " --permutations 1000 --threads 1";
  auto r = test::run_cli(common + " --k 10 --reranker " + kCe.string() + " --json --runs-out " + runs.string(), "");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err.find("\r"), std::string::npos) << "no progress bar in a pipe";
  EXPECT_NE(r.err.find("evaluated 12 judged queries"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("2 queries without judgments skipped"), std::string::npos) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["queries"]["run"], 12);
  EXPECT_EQ(j["reranker"], "ce-tiny");
  ASSERT_EQ(j["stages"].size(), 1u);
  ASSERT_EQ(j["cells"].size(), 1u);
  const auto& cell = j["cells"][0];
  EXPECT_EQ(cell["top_n"], "all");
  for (const char* k : {"p50", "p95", "mean"}) EXPECT_GT(cell["latency_ms"][k].get<double>(), 0.0) << k;

  // the same numbers from the run-file mode on the runs the end-to-end mode wrote
  ASSERT_TRUE(fs::exists(runs / "first-stage-k10.trec"));
  ASSERT_TRUE(fs::exists(runs / "reranked-k10-nall.trec"));
  auto f = test::run_cli("eval --qrels " + pdata("qrels.tsv").string() + " --run " + (runs / "first-stage-k10.trec").string() +
                             " --run " + (runs / "reranked-k10-nall.trec").string() + " --json --permutations 1000",
                         "");
  ASSERT_EQ(f.status, 0) << f.err;
  auto fj = nlohmann::json::parse(f.out);
  EXPECT_EQ(fj["runs"][0]["queries"], 12);
  for (const auto& [metric, v] : j["stages"][0]["metrics"].items()) {
    EXPECT_DOUBLE_EQ(v.get<double>(), fj["runs"][0]["metrics"][metric].get<double>()) << metric;
    EXPECT_DOUBLE_EQ(cell["metrics"][metric].get<double>(), fj["runs"][1]["metrics"][metric].get<double>()) << metric;
    const auto& a = cell["comparison"][metric];
    const auto& b = fj["comparisons"][0]["metrics"][metric];
    for (const char* k : {"diff", "p_randomization", "wins", "ties", "losses"}) EXPECT_EQ(a[k], b[k]) << metric << " " << k;
    if (!a["p_ttest"].is_null()) { EXPECT_NEAR(a["p_ttest"].get<double>(), b["p_ttest"].get<double>(), 1e-12) << metric; }
  }

  // text tables, the sweep and the report
  r = test::run_cli(common + " --reranker " + kCe.string() + " --sweep k=5,10 top-n=3,all --metrics ndcg@10,p@3 --report " +
                        report.string(),
                    "");
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* s : {"Setup", "First stage vs reranked (k=10, top-n=all)", "p (t-test)", "p (randomization)",
                        "wins / ties / losses", "Latency per query (ms)", "total p95", "Sweep: quality and latency per cell",
                        "first stage", "cut at top-n"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;
  EXPECT_TRUE(fs::exists(report / "report.html"));
  EXPECT_TRUE(fs::exists(report / "vs-k-p_3.svg"));
  EXPECT_NE(r.err.find("report written"), std::string::npos);
  r = test::run_cli(common + " --reranker " + kCe.string() + " --sweep k=5,10 top-n=3,all --json", "");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["cells"].size(), 4u);
  fs::remove_all(runs);
  fs::remove_all(report);
}

TEST(PipelineEvalCli, BadInputsExitOneWithClearMessages) {
  const std::string coll = collection_dir().string(), queries = pdata("queries.jsonl").string(), qrels = pdata("qrels.tsv").string();
  auto expect = [](const test::RunResult& r, const std::string& needle) {
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_NE(r.err.find("rerank: error: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  };
  const std::string e2e = "eval --collection " + coll + " --queries " + queries;
  expect(test::run_cli(e2e + " --qrels /nonexistent/qrels.tsv", ""), "/nonexistent/qrels.tsv");
  expect(test::run_cli(e2e + " --qrels " + test::data("eval/toy.qrels").string(), ""), "none of the 14 queries in " + queries);
  expect(test::run_cli(e2e + " --qrels " + qrels + " --reranker " + kCe.string() + " --sweep k=abc", ""),
         "--sweep k=abc: \"abc\" is not a positive integer");
  expect(test::run_cli(e2e + " --qrels " + qrels + " --reranker " + kCe.string() + " --sweep k=10 depth=3", ""),
         "unknown parameter \"depth\"");
  expect(test::run_cli(e2e + " --qrels " + qrels + " --sweep top-n=3", ""), "--sweep top-n needs --reranker");
  expect(test::run_cli(e2e + " --qrels " + qrels + " --metrics ndcg@10,bleu", ""), "unknown metric \"bleu\"");
  expect(test::run_cli("eval --collection " + coll + " --qrels " + qrels, ""), "--collection needs --queries");
  expect(test::run_cli("eval --collection /nonexistent/coll --queries " + queries + " --qrels " + qrels, ""), "/nonexistent/coll");
  expect(test::run_cli(e2e + " --qrels " + qrels + " --run " + test::data("eval/toy_a.trec").string(), ""), "two modes");
  expect(test::run_cli("eval --qrels " + qrels, ""), "give --run RUN.trec");
  expect(test::run_cli("eval --qrels " + qrels + " --run " + test::data("eval/toy_a.trec").string() + " --sweep k=1", ""),
         "--sweep belongs to the end-to-end mode");
  auto h = test::run_cli("eval --help", "");
  ASSERT_EQ(h.status, 0);
  for (const char* s : {"--collection", "--queries", "--sweep", "--reranker", "--top-n", "CUT at top-n", "--sweep k=10,20,50,100 top-n=3,5,10"})
    EXPECT_NE(h.out.find(s), std::string::npos) << s;
}

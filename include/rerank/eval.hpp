// rerank/eval.hpp — retrieval evaluation with trec_eval's exact semantics, significance tests, reports, and the
// end-to-end evaluation of the two-stage pipeline.
//
//   #include <rerank/eval.hpp>
//   namespace ev = rerank::eval;
//   ev::Qrels qrels = ev::read_qrels("qrels/test.tsv");                    // BEIR TSV or TREC, auto-detected
//   ev::Run bm25 = ev::read_run("bm25.trec");                              // TREC run file
//   ev::Run reranked("reranked");                                          // or a run built in memory:
//   reranked.add("q1", "doc7", 3.2);                                       //   qid -> ranked (docid, score)
//   auto metrics = ev::parse_metrics("ndcg@10,map@100,mrr@10,p@5,recall@100");
//   ev::Evaluation a = ev::evaluate(qrels, bm25, metrics);
//   ev::Evaluation b = ev::evaluate(qrels, reranked, metrics);
//   std::cout << a.mean(0) << " -> " << b.mean(0) << "\n";                 // nDCG@10 means
//   ev::Comparison c = ev::compare(a, b, 0);                               // paired t-test + randomization test
//   std::cout << c.diff << " p=" << c.ttest.p << " " << c.wins << "/" << c.ties << "/" << c.losses << "\n";
//
//   // end to end (see "End to end" below): run the judged queries through a Pipeline and compare both stages
//   ev::PipelineEvaluation r = ev::evaluate_pipeline(pipeline, ev::read_queries("queries.jsonl"), qrels, {});
//   std::cout << ev::comparison_table("first stage", "reranked", r.headline().comparisons).text();
//
// Semantics (those of trec_eval 9, checked against pytrec_eval in tests/test_eval_golden.cpp):
//   - A run's documents for a query are ranked by score descending, ties by document id descending (byte-wise,
//     as trec_eval's strcmp); the rank column of a run file is ignored.
//   - A document is relevant when its qrels relevance >= Options::relevance_level (default 1). nDCG uses the
//     relevance itself as gain (every level > 0, whatever the threshold) and the discount log2(rank + 1).
//   - Queries averaged: those in both the run and the qrels (trec_eval's default). A query of the qrels with no
//     relevant document counts with 0 for every metric. Options::complete (trec_eval -c) averages over every qrels
//     query, those missing from the run counting 0. Run queries absent from the qrels are ignored.
//   - A document twice in one query of a run, or judged twice for one query in qrels, is an error (trec_eval
//     refuses such input too), naming the file and both lines.
//
// Every parser validates its input and throws rerank::InputError("<file> line N: ...").
//
// Thread safety: everything here is a plain value type or a pure function; distinct objects may be used from
// any threads, and const objects (Qrels, Run, Evaluation, PipelineEvaluation) may be shared by readers.
// evaluate_pipeline uses its Pipeline (not thread-safe) for the whole call: one call per Pipeline at a time.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rerank/pipeline.hpp"

namespace rerank::eval {

// ---------------------------------------------------------------------------------------------------------------
// Inputs

/// Query ids compare as numbers when both are numeric, as trec_eval users expect: "01" (CACM's qrels) and "1"
/// (its queries) are the same query. Other ids compare byte-wise. query_id_key is the id without the leading
/// zeros of an all-digit id ("007" -> "7", "0" stays "0"); QueryIdLess orders by it (the maps below use it, so
/// every place queries meet qrels and runs matches this way).
std::string_view query_id_key(std::string_view id);
struct QueryIdLess {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return query_id_key(a) < query_id_key(b); }
};

/// Relevance judgments: query id -> (document id -> relevance). Relevance is an integer grade; < 1 is not relevant
/// at the default threshold.
struct Qrels {
  std::map<std::string, std::unordered_map<std::string, int>, QueryIdLess> queries;
  /// Adds one judgment; throws InputError when (qid, docid) is already judged.
  void add(const std::string& qid, const std::string& docid, int relevance);
  size_t num_judgments() const;
};

enum class QrelsFormat {
  Auto,       ///< BEIR when the first line is the BEIR header, TREC for 4 columns, else by file name (below)
  Trec,       ///< `qid iter docid rel` (iter ignored)
  Beir,       ///< header `query-id<TAB>corpus-id<TAB>score`, then one judgment per line
  Cranfield,  ///< `cranqrel`: `qid docid code`, code 1..4 (1 = complete answer) or -1; see cranfield_relevance
  Cisi,       ///< CISI.REL: `qid docid 0 0.000000`, every pair relevant (relevance 1)
  QidDocid,   ///< `qid docid 0 0` (CACM's qrels.text, ids like "01"): every pair relevant (relevance 1); Auto
              ///< picks it for 4 columns whose third (TREC's document id) is constant while a query id repeats
};

/// Cranfield's codes as graded relevance: 1 -> 4, 2 -> 3, 3 -> 2, 4 -> 1 (5 - code: higher is more relevant, as
/// nDCG needs), -1 ("no interest") -> 0. Other codes throw InputError.
int cranfield_relevance(int code);

/// Reads qrels. Auto picks Cranfield for a file named `cranqrel*`, Cisi for `*.REL` files whose lines have the
/// `qid docid 0 0.0` layout (MED.REL is plain TREC). Lines may end in CRLF; blank lines are skipped.
Qrels read_qrels(const std::filesystem::path& path, QrelsFormat format = QrelsFormat::Auto);
QrelsFormat parse_qrels_format(std::string_view name);  ///< "auto", "trec", "beir", "cranfield", "cisi", "qid-docid"

/// A ranked list entry.
struct ScoredDoc {
  std::string doc_id;
  double score = 0;
};

/// A run: query id -> retrieved documents with scores (any order: evaluation sorts them trec_eval's way).
struct Run {
  std::string name;
  std::map<std::string, std::vector<ScoredDoc>, QueryIdLess> queries;
  Run() = default;
  explicit Run(std::string n) : name(std::move(n)) {}
  void add(const std::string& qid, const std::string& docid, double score) { queries[qid].push_back({docid, score}); }
  size_t num_lines() const;
};

/// Reads a TREC run: `qid Q0 docid rank score tag`, whitespace-separated. The run's name is the file name.
/// Throws InputError for a wrong column count, a non-numeric or non-finite score, a non-integer rank or a
/// duplicate (qid, docid).
Run read_run(const std::filesystem::path& path);
/// Writes a run in TREC format, each query's documents in trec_eval order, ranks from 1.
void write_run(const Run& run, const std::filesystem::path& path, const std::string& tag = "");

/// The documents of one query in trec_eval order: score descending, then document id descending.
std::vector<ScoredDoc> ranked(std::vector<ScoredDoc> docs);

struct Query {
  std::string id;
  std::string text;
};

enum class QueriesFormat {
  Auto,       ///< `.jsonl` -> BeirJsonl, `<top>` -> TrecTopics, `cran.qry` -> Cranfield, `.I` records -> Smart
  BeirJsonl,  ///< one JSON object per line with string `_id` and `text`
  TrecTopics, ///< `<top> <num> Number: 301 <title> ... </top>`; text = the title
  Cranfield,  ///< cran.qry: `.I`/`.W` records; ids are the record's position 1..N, as cranqrel numbers them
  Smart,      ///< CISI.QRY / MED.QRY: `.I n` records with `.W` (and `.T/.A/.B`); id = n, text = .W (else .T)
};
std::vector<Query> read_queries(const std::filesystem::path& path, QueriesFormat format = QueriesFormat::Auto);
QueriesFormat parse_queries_format(std::string_view name);  ///< "auto", "beir", "trec", "cranfield", "smart"

// ---------------------------------------------------------------------------------------------------------------
// Metrics

enum class MetricKind { Precision, Recall, MRR, NDCG, MAP, RPrec, Hit };

struct Metric {
  MetricKind kind;
  int k = 0;         ///< cutoff; 0 = none (map, mrr, ndcg over the whole list; rprec has none)
  std::string name;  ///< canonical name: "ndcg@10", "map@100", "map", "mrr@10", "p@5", "recall@100", "rprec", "hit@10"
};

/// Parses one metric name, case-insensitively: ndcg@k, map@k, map, mrr@k, mrr, p@k, recall@k, rprec, hit@k, and the
/// trec_eval names ndcg_cut_k / ndcg_cut.k, map_cut_k, map, recip_rank, P_k / P.k, recall_k, Rprec, success_k,
/// ndcg. Throws InputError listing the accepted forms.
Metric parse_metric(std::string_view name);
/// A comma-separated list; duplicates (after canonicalisation) are dropped.
std::vector<Metric> parse_metrics(std::string_view list);
inline constexpr const char* kDefaultMetrics = "ndcg@10,map@100,mrr@10,p@5,recall@100";

struct Options {
  int relevance_level = 1;  ///< trec_eval -l: relevance >= this counts as relevant
  bool complete = false;    ///< trec_eval -c: average over every qrels query (missing ones count 0)
};

/// One metric for one query. `ranked_rels` are the relevances of the ranked documents (trec_eval order; unjudged
/// documents as 0), `judged` the query's qrels.
double metric_value(const Metric& m, const std::vector<int>& ranked_rels, const std::unordered_map<std::string, int>& judged,
                    int relevance_level);

/// Per-query and mean values of several metrics for one run.
struct Evaluation {
  std::string run;
  std::vector<Metric> metrics;
  std::vector<std::string> query_ids;       ///< the averaged queries, sorted
  std::vector<std::vector<double>> values;  ///< values[metric][query]
  std::vector<std::string> missing;         ///< qrels queries absent from the run (counted 0 only when complete)
  size_t ignored = 0;                       ///< run queries absent from the qrels (ignored)
  double mean(size_t metric) const;
  /// Index of a metric by canonical name, or -1.
  int index(const std::string& canonical_name) const;
};

/// Evaluates a run. Throws InputError for a duplicate document in a query of the run.
Evaluation evaluate(const Qrels& qrels, const Run& run, const std::vector<Metric>& metrics, const Options& opts = {});

// ---------------------------------------------------------------------------------------------------------------
// Significance

struct TTest {
  double t = 0;
  double df = 0;
  double p = 1;  ///< two-sided; NaN when fewer than 2 pairs
};
/// Paired Student's t-test of b - a (scipy.stats.ttest_rel). All differences 0 gives t = 0, p = 1.
TTest paired_t_test(const std::vector<double>& a, const std::vector<double>& b);
/// Two-sided paired randomization (sign-flip) test of the mean difference with `permutations` random flips from a
/// seeded std::mt19937_64: p = (1 + #{|mean perm| >= |mean observed|}) / (1 + permutations).
double randomization_test(const std::vector<double>& a, const std::vector<double>& b, size_t permutations = 10000,
                          uint64_t seed = 42);
/// Student's t CDF, via the regularized incomplete beta function.
double student_t_cdf(double t, double df);
/// The regularized incomplete beta function I_x(a, b) (continued fraction, ~1e-14 relative).
double incomplete_beta(double a, double b, double x);

struct Comparison {
  std::string metric;
  size_t n = 0;  ///< paired queries
  double mean_a = 0, mean_b = 0, diff = 0;  ///< diff = mean_b - mean_a
  size_t wins = 0, ties = 0, losses = 0;   ///< queries where b is above / equal to / below a
  TTest ttest;
  double p_randomization = 1;
  std::vector<double> deltas;  ///< per paired query, b - a (query order as `query_ids`)
  std::vector<std::string> query_ids;
};
/// Compares metric `metric` of two evaluations of the same metrics list. Queries are paired over the union of both
/// evaluations' queries; a query one run lacks counts 0 there (what trec_eval -c gives it).
Comparison compare(const Evaluation& a, const Evaluation& b, size_t metric, size_t permutations = 10000, uint64_t seed = 42);

// ---------------------------------------------------------------------------------------------------------------
// Tables: one formatting for the terminal, Markdown and HTML, so `rerank eval` and the reports show the same text

std::string format_value(double v, int digits = 4);  ///< "0.6543"; "n/a" for NaN
std::string format_diff(double v);                  ///< "+0.0123" / "-0.0123"
std::string format_p(double p);                     ///< "0.0123", below 1e-4 "1.2e-05", NaN "n/a"
std::string format_ms(double ms);                   ///< "12.3" (3 significant digits at least 1 decimal)

struct Table {
  std::string title;  ///< section heading ("" = none)
  std::string id;     ///< HTML id ("" = none)
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::string note;   ///< a sentence printed under the table ("" = none)
  bool numeric = true;  ///< right-align the columns after the first (false: all left, e.g. settings)
  /// Aligned columns (the first left-aligned, the others right-aligned), title above, note below.
  std::string text() const;
  /// A GitHub Markdown table with "## title" above and the note below.
  std::string markdown() const;
  /// `<h2>title</h2><table>...`; cells of a column whose header starts with "diff" get class win (+) or loss (-).
  std::string html() const;
};

/// The run-file mode's means table: one column per run, a `queries` row; with exactly two runs also the
/// difference, both p-values and wins/ties/losses of the second against the first.
Table means_table(const std::vector<Evaluation>& runs, const std::vector<std::vector<Comparison>>& comparisons);
/// One comparison: metric, the two means, difference, p (t-test), p (randomization), wins / ties / losses.
Table comparison_table(const std::string& baseline, const std::string& run, const std::vector<Comparison>& comparisons);

// ---------------------------------------------------------------------------------------------------------------
// Reports

/// Writes DIR/report.html (self-contained: inline CSS and SVG) and DIR/report.md (+ the SVG files it links): the
/// means table, each comparison against the first run with p-values, a before/after bar chart per metric and a
/// per-query delta histogram per metric. Creates DIR. Throws InputError when it cannot write.
void write_report(const std::filesystem::path& dir, const std::vector<Evaluation>& runs,
                  const std::vector<std::vector<Comparison>>& comparisons, const std::string& title = "rerank eval");

/// SVG charts (src/eval/svg.cpp): standalone `<svg>` elements with a `<title>`, usable inline in HTML or as files.
/// Grouped bars: one group per `groups` entry, one bar per series.
std::string svg_bar_chart(const std::vector<std::string>& groups, const std::vector<std::string>& series,
                          const std::vector<std::vector<double>>& values /*[series][group]*/, const std::string& title);
/// Histogram of per-query differences, symmetric around 0 (losses red, ties grey, wins green).
std::string svg_histogram(const std::vector<double>& values, const std::string& title, int bins = 21);
/// Lines over categorical x positions (e.g. k = 10, 20, 50, 100), one polyline per series; NaN values are gaps.
/// `y_from_zero` starts the y axis at 0, else it spans the data with rounded ticks.
std::string svg_line_chart(const std::vector<std::string>& x_labels, const std::vector<std::string>& series,
                           const std::vector<std::vector<double>>& values /*[series][x]*/, const std::string& title,
                           const std::string& x_title, const std::string& y_title, bool y_from_zero = false);

// ---------------------------------------------------------------------------------------------------------------
// End to end: run the pipeline on judged queries and report both stages (src/eval/pipeline_eval.cpp)
//
//   auto c = rerank::Collection::open("scifact-idx");
//   rerank::Pipeline p(c, {.k = 100, .top_n = 0}, rerank::make_reranker("ms-marco-MiniLM-L-6-v2"));
//   ev::PipelineEvalOptions o;
//   o.metrics = ev::parse_metrics("ndcg@10,recall@100");
//   o.sweep = ev::parse_sweep({"k=10,20,50,100", "top-n=3,5,10"});      // optional grid
//   ev::PipelineEvaluation r = ev::evaluate_pipeline(p, ev::read_queries("queries.jsonl"),
//                                                    ev::read_qrels("qrels/test.tsv"), o);
//   const auto& cell = r.headline();   // largest k and top-n: cell.comparisons[m] = reranked vs first stage
//   ev::write_pipeline_report("out/", r);
//
// What is run: only the queries that have judgments (the others are counted in `unjudged_queries`). Every run
// query is averaged; one whose first stage finds nothing counts 0 (trec_eval -c over the run queries).
// The "first stage" run at k is the first stage's top k with its scores. The "reranked" run for (k, n) is what
// `rerank search --k k --top-n n` returns: the k candidates ordered by the reranker's score, CUT to the first n
// (n = 0: all k). Metrics deeper than n therefore see only n documents. A document appears once (per-passage
// retrieval keeps a document's best-ranked passage). Metrics use trec_eval's order (score, then document id).
// Latency per query and k: the first stage at depth k, timed on its own, plus the reranker on those k
// candidates. A candidate's reranker score does not depend on k, so each candidate is scored once per query:
// k ascending, the candidates new at each k are scored in one call and the reranking time at k is the sum of the
// calls so far (with more than one k, the first stage also runs once untimed at the largest k first, so every k
// is timed with the same warm caches). top-n does not change the work: cells of one k share its latency.

struct LatencyStats {
  size_t n = 0;
  double p50 = 0, p95 = 0, mean = 0, max = 0;  ///< milliseconds; pN = the nearest-rank percentile
};
LatencyStats latency_stats(const std::vector<double>& ms);
/// The nearest-rank percentile (p in [0, 1]) of `sorted` (ascending): the smallest value with at least p of the
/// values at or below it; 0 for an empty list.
double nearest_rank(const std::vector<double>& sorted, double p);

/// A sweep grid. Empty lists mean the pipeline's own k / top_n. top_n 0 = all k.
struct SweepGrid {
  std::vector<size_t> k, top_n;
};
/// Parses `--sweep` items like "k=10,20,50,100" and "top-n=3,5,10" (also "top_n=", "n="; "all" = 0 for top-n;
/// several items may share one argument separated by spaces). Values are sorted, duplicates dropped. Throws
/// InputError("--sweep k=abc: \"abc\" is not a positive integer") and the like.
SweepGrid parse_sweep(const std::vector<std::string>& items);

struct PipelineEvalOptions {
  std::vector<Metric> metrics = parse_metrics(kDefaultMetrics);
  int relevance_level = 1;
  SweepGrid sweep;
  bool warmup = false;  ///< first stage of every query and the reranker on one query once untimed first
  size_t permutations = 10000;
  uint64_t seed = 42;
  std::string queries_name = "queries", qrels_name = "qrels";  ///< for messages (file names)
};

/// Results of the first stage at one k.
struct StageResult {
  size_t k = 0;
  Run run;                   ///< first-stage top k of every run query
  Evaluation evaluation;
  LatencyStats first_stage;  ///< first stage at depth k
  LatencyStats rerank;       ///< the reranker on the k candidates (n = 0 without a reranker)
  LatencyStats total;        ///< per query: first stage + rerank
};

/// One cell of the grid: the reranked run at (k, top_n) against the first stage at k.
struct PipelineCell {
  size_t k = 0, top_n = 0;  ///< top_n as asked (0 = all k)
  Run run;
  Evaluation evaluation;
  std::vector<Comparison> comparisons;  ///< per metric: first stage at k (a) vs reranked (b)
};

struct PipelineEvaluation {
  std::string collection, retriever, reranker;  ///< collection directory; "bm25"...; reranker name ("" = none)
  size_t documents = 0;                         ///< in the collection
  std::vector<Metric> metrics;
  std::vector<size_t> ks, top_ns;               ///< the grid (top_ns empty without a reranker)
  std::vector<StageResult> stages;              ///< one per k, ascending
  std::vector<PipelineCell> cells;              ///< ks x top_ns, k-major; empty without a reranker
  std::vector<std::string> query_ids;           ///< run queries (judged), in file order
  size_t queries_in_file = 0, unjudged_queries = 0, judged_without_text = 0, empty_results = 0;
  std::vector<double> per_query_ms;             ///< end-to-end latency of each run query at the largest k
  bool warm = false;
  /// The headline cell: largest k and largest top-n (top-n 0 = all counts as largest). Throws without a reranker.
  const PipelineCell& headline() const;
  const StageResult& stage(size_t k) const;     ///< throws std::out_of_range
  /// "the top n of the k candidates by <reranker> score, cut at n" for a report's text.
  static std::string describe_reranked(size_t k, size_t top_n);
};

/// The queries that have judgments, in file order. Throws InputError naming both files (options.queries_name,
/// qrels_name) with example ids when there is none.
std::vector<Query> judged_queries(const std::vector<Query>& queries, const Qrels& qrels, const PipelineEvalOptions& options);

/// Runs the judged queries through `pipeline` (its retriever, fusion, per-passage and reranker; k/top_n from the
/// options' sweep, else the pipeline's) and evaluates both stages. `progress(done, total)` is called after each
/// query. Throws InputError when no query has judgments or a sweep asks for top-n without a reranker.
PipelineEvaluation evaluate_pipeline(Pipeline& pipeline, const std::vector<Query>& queries, const Qrels& qrels,
                                     const PipelineEvalOptions& options,
                                     const std::function<void(size_t done, size_t total)>& progress = {});

/// The tables of an end-to-end evaluation, shared by `rerank eval` and the reports: setup, first stage vs
/// reranked (headline cell), latency per k, and with a grid the sweep (quality and latency per cell) and every
/// cell's comparison.
std::vector<Table> pipeline_tables(const PipelineEvaluation& r);

/// Writes DIR/report.html (self-contained) and DIR/report.md + SVG files: the tables of pipeline_tables and the
/// plots metric vs k, before/after per metric, per-query delta histograms, latency vs candidates.
void write_pipeline_report(const std::filesystem::path& dir, const PipelineEvaluation& r,
                           const std::string& title = "rerank eval: end to end");

}  // namespace rerank::eval

// End-to-end evaluation: the judged queries through the two-stage pipeline, both stages evaluated with
// trec_eval's semantics and compared, over a grid of k and top-n, with latencies (see rerank/eval.hpp).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "eval/text.hpp"
#include "rerank/eval.hpp"

namespace rerank::eval {

using detail::quote;

double nearest_rank(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t r = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size() - 1, r == 0 ? 0 : r - 1)];
}

LatencyStats latency_stats(const std::vector<double>& ms) {
  LatencyStats s;
  s.n = ms.size();
  if (ms.empty()) return s;
  std::vector<double> v = ms;
  std::sort(v.begin(), v.end());
  s.p50 = nearest_rank(v, 0.50);
  s.p95 = nearest_rank(v, 0.95);
  s.max = v.back();
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  return s;
}

namespace {

const char* kSweepHelp = " (expected e.g. --sweep k=10,20,50,100 top-n=3,5,10)";

std::vector<size_t> parse_values(const std::string& item, const std::string& key, const std::string& list) {
  std::vector<size_t> out;
  if (list.empty()) throw InputError("--sweep " + item + ": no values" + kSweepHelp);
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t e = list.find(',', pos);
    if (e == std::string::npos) e = list.size();
    const std::string v(detail::trim(std::string_view(list).substr(pos, e - pos)));
    if (key == "top-n" && detail::lower(v) == "all") {
      out.push_back(0);
    } else {
      auto n = detail::parse_int(v);
      if (!n || *n < 1)
        throw InputError("--sweep " + item + ": " + quote(v) + " is not a positive integer" +
                         (key == "top-n" ? " (or \"all\")" : ""));
      if (*n > 1000000) throw InputError("--sweep " + item + ": " + v + " is larger than 1000000");
      out.push_back(static_cast<size_t>(*n));
    }
    pos = e + 1;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  if (key == "top-n" && !out.empty() && out.front() == 0) {  // "all" sorts last
    out.erase(out.begin());
    out.push_back(0);
  }
  return out;
}

}  // namespace

SweepGrid parse_sweep(const std::vector<std::string>& items) {
  SweepGrid g;
  std::vector<std::string> words;
  for (const auto& it : items)
    for (auto w : detail::split_ws(it)) words.emplace_back(w);
  if (words.empty()) throw InputError(std::string("--sweep: nothing to sweep") + kSweepHelp);
  bool have_k = false, have_n = false;
  for (const auto& w : words) {
    const size_t eq = w.find('=');
    if (eq == std::string::npos) throw InputError("--sweep: " + quote(w) + " is not KEY=VALUES" + kSweepHelp);
    std::string key = detail::lower(w.substr(0, eq));
    if (key == "top_n" || key == "n" || key == "topn") key = "top-n";
    if (key != "k" && key != "top-n")
      throw InputError("--sweep: unknown parameter " + quote(w.substr(0, eq)) + " (expected k or top-n)" + kSweepHelp);
    bool& seen = key == "k" ? have_k : have_n;
    if (seen) throw InputError("--sweep: " + key + " is given twice");
    seen = true;
    (key == "k" ? g.k : g.top_n) = parse_values(w, key, w.substr(eq + 1));
  }
  return g;
}

std::string PipelineEvaluation::describe_reranked(size_t k, size_t top_n) {
  if (top_n == 0 || top_n >= k)
    return "all " + std::to_string(k) + " first-stage candidates ordered by the reranker's score";
  return "the reranker's top " + std::to_string(top_n) + " of the " + std::to_string(k) +
         " first-stage candidates, cut at " + std::to_string(top_n) + " (deeper metrics see only " +
         std::to_string(top_n) + " documents)";
}

const PipelineCell& PipelineEvaluation::headline() const {
  if (cells.empty()) throw InputError("the evaluation has no reranked run (no reranker)");
  return cells.back();  // ks ascending, top_ns ascending with "all" (0) last: the last cell is the largest
}

const StageResult& PipelineEvaluation::stage(size_t k) const {
  for (const auto& s : stages)
    if (s.k == k) return s;
  throw std::out_of_range("no first-stage result at k = " + std::to_string(k));
}

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

/// Adds a ranking to a run, each document once (its first, i.e. best-ranked, passage).
void add_ranking(Run& run, const std::string& qid, const std::vector<RankedItem>& items) {
  std::unordered_set<std::string> seen;
  auto& docs = run.queries[qid];  // present even when empty: the query was run
  for (const auto& x : items)
    if (seen.insert(x.doc_id).second) docs.push_back({x.doc_id, static_cast<double>(x.score)});
}

std::string examples(const std::vector<std::string>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size() && i < 3; ++i) s += (i ? ", " : "") + quote(ids[i]);
  return s;
}

}  // namespace

std::vector<Query> judged_queries(const std::vector<Query>& queries, const Qrels& qrels, const PipelineEvalOptions& options) {
  if (queries.empty()) throw InputError(options.queries_name + ": no queries");
  if (qrels.queries.empty()) throw InputError(options.qrels_name + ": no judgments");
  std::vector<Query> out;
  std::vector<std::string> unjudged, judged;
  for (const auto& q : queries) {
    if (qrels.queries.count(q.id)) out.push_back(q);
    else unjudged.push_back(q.id);
  }
  if (out.empty()) {
    for (const auto& [qid, j] : qrels.queries) judged.push_back(qid);
    throw InputError("none of the " + std::to_string(queries.size()) + " queries in " + options.queries_name +
                     " has judgments in " + options.qrels_name + " (query ids like " + examples(unjudged) +
                     "; judged ids like " + examples(judged) + "): are both from the same collection and split?");
  }
  return out;
}

PipelineEvaluation evaluate_pipeline(Pipeline& pipeline, const std::vector<Query>& queries, const Qrels& qrels,
                                     const PipelineEvalOptions& options,
                                     const std::function<void(size_t, size_t)>& progress) {
  if (options.metrics.empty()) throw InputError("no metric to evaluate");
  const bool rerank = pipeline.has_reranker();
  PipelineEvaluation r;
  r.collection = pipeline.engine().describe();
  r.documents = pipeline.engine().size();
  const auto& po = pipeline.options();
  r.retriever = po.retriever == Retriever::Bm25 ? "bm25" : po.retriever == Retriever::Dense ? "dense" : "hybrid";
  if (po.per_passage) r.retriever += " (per passage)";
  r.reranker = pipeline.reranker_name();
  r.metrics = options.metrics;
  r.ks = options.sweep.k.empty() ? std::vector<size_t>{po.k} : options.sweep.k;
  if (!options.sweep.top_n.empty() && !rerank)
    throw InputError("--sweep top-n needs a reranker (--reranker MODEL): without one there is no reranked run");
  if (rerank) r.top_ns = options.sweep.top_n.empty() ? std::vector<size_t>{po.top_n} : options.sweep.top_n;
  const size_t kmax = r.ks.back();

  const std::vector<Query> run_queries = judged_queries(queries, qrels, options);
  std::set<std::string, QueryIdLess> with_text;
  for (const auto& q : queries) with_text.insert(q.id);
  r.queries_in_file = queries.size();
  r.unjudged_queries = queries.size() - run_queries.size();
  for (const auto& [qid, j] : qrels.queries) r.judged_without_text += !with_text.count(qid);
  Qrels judged;  // only the run queries: every run query is averaged, one without results as 0
  for (const auto& q : run_queries) {
    r.query_ids.push_back(q.id);
    judged.queries[q.id] = qrels.queries.at(q.id);
  }

  const size_t nk = r.ks.size(), nn = r.top_ns.size(), nq = run_queries.size();
  std::vector<Run> first_runs(nk), cell_runs(nk * nn);
  std::vector<std::vector<double>> fs_ms(nk), rr_ms(nk), total_ms(nk);
  for (size_t i = 0; i < nk; ++i) first_runs[i].name = "first stage (k=" + std::to_string(r.ks[i]) + ")";
  for (size_t i = 0; i < nk; ++i)
    for (size_t j = 0; j < nn; ++j)
      cell_runs[i * nn + j].name = "reranked (k=" + std::to_string(r.ks[i]) + ", top-n=" +
                                   (r.top_ns[j] ? std::to_string(r.top_ns[j]) : std::string("all")) + ")";

  if (options.warmup) {
    for (const auto& q : run_queries) pipeline.retrieve(q.text, kmax);
    if (rerank) {
      auto c = pipeline.retrieve(run_queries[0].text, kmax);
      pipeline.score(run_queries[0].text, c);
    }
    r.warm = true;
  }
  for (size_t qi = 0; qi < nq; ++qi) {
    const Query& q = run_queries[qi];
    if (nk > 1) pipeline.retrieve(q.text, kmax);  // untimed: every k below is timed with the same warm caches
    std::unordered_map<int64_t, float> scored;  // passage -> reranker score, computed once per query
    double rerank_so_far = 0;
    for (size_t i = 0; i < nk; ++i) {
      auto t0 = Clock::now();
      std::vector<RankedItem> cands = pipeline.retrieve(q.text, r.ks[i]);
      fs_ms[i].push_back(ms_since(t0));
      if (cands.empty() && i + 1 == nk) ++r.empty_results;
      add_ranking(first_runs[i], q.id, cands);
      if (!rerank) {
        total_ms[i].push_back(fs_ms[i].back());
        continue;
      }
      std::vector<RankedItem> fresh;
      for (const auto& c : cands)
        if (!scored.count(c.passage)) fresh.push_back(c);
      if (!fresh.empty()) {
        auto t1 = Clock::now();
        std::vector<float> s = pipeline.score(q.text, fresh);
        rerank_so_far += ms_since(t1);
        for (size_t x = 0; x < fresh.size(); ++x) scored[fresh[x].passage] = s[x];
      }
      rr_ms[i].push_back(rerank_so_far);
      total_ms[i].push_back(fs_ms[i].back() + rerank_so_far);
      std::vector<float> scores;
      scores.reserve(cands.size());
      for (const auto& c : cands) scores.push_back(scored.at(c.passage));
      for (size_t j = 0; j < nn; ++j) add_ranking(cell_runs[i * nn + j], q.id, Pipeline::rerank_order(cands, scores, r.top_ns[j]));
    }
    r.per_query_ms.push_back(total_ms[nk - 1].back());
    if (progress) progress(qi + 1, nq);
  }

  Options eo;
  eo.relevance_level = options.relevance_level;
  eo.complete = true;  // over `judged` = exactly the run queries
  for (size_t i = 0; i < nk; ++i) {
    StageResult s;
    s.k = r.ks[i];
    s.evaluation = evaluate(judged, first_runs[i], options.metrics, eo);
    s.run = std::move(first_runs[i]);
    s.first_stage = latency_stats(fs_ms[i]);
    s.rerank = latency_stats(rr_ms[i]);
    s.total = latency_stats(total_ms[i]);
    r.stages.push_back(std::move(s));
  }
  for (size_t i = 0; i < nk; ++i)
    for (size_t j = 0; j < nn; ++j) {
      PipelineCell c;
      c.k = r.ks[i];
      c.top_n = r.top_ns[j];
      c.evaluation = evaluate(judged, cell_runs[i * nn + j], options.metrics, eo);
      c.run = std::move(cell_runs[i * nn + j]);
      for (size_t m = 0; m < options.metrics.size(); ++m)
        c.comparisons.push_back(compare(r.stages[i].evaluation, c.evaluation, m, options.permutations, options.seed));
      r.cells.push_back(std::move(c));
    }
  return r;
}

}  // namespace rerank::eval

// rerank eval, end to end: the judged queries through the pipeline (eval::evaluate_pipeline), both stages side by
// side with significance, latency, an optional k x top-n sweep; tables, JSON, run files and the report.
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "cmd_eval.hpp"
#include "rerank/pipeline.hpp"

namespace rerank::cli {

namespace {

std::string top_n_name(size_t n) { return n ? std::to_string(n) : std::string("all"); }

nlohmann::ordered_json latency_json(const eval::LatencyStats& s) {
  return {{"p50", s.p50}, {"p95", s.p95}, {"mean", s.mean}, {"max", s.max}};
}

nlohmann::ordered_json means_json(const eval::Evaluation& e) {
  nlohmann::ordered_json m;
  for (size_t i = 0; i < e.metrics.size(); ++i) m[e.metrics[i].name] = e.mean(i);
  return m;
}

nlohmann::ordered_json to_json(const eval::PipelineEvaluation& r, bool per_query) {
  nlohmann::ordered_json o;
  o["collection"] = r.collection;
  o["documents"] = r.documents;
  o["retriever"] = r.retriever;
  o["reranker"] = r.reranker.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.reranker);
  o["metrics"] = nlohmann::ordered_json::array();
  for (const auto& m : r.metrics) o["metrics"].push_back(m.name);
  o["queries"] = {{"run", r.query_ids.size()},
                  {"in_file", r.queries_in_file},
                  {"unjudged_skipped", r.unjudged_queries},
                  {"judged_without_text", r.judged_without_text},
                  {"empty_results", r.empty_results}};
  o["reranked_run"] = "the k first-stage candidates ordered by the reranker's score, cut at top_n (\"all\": not cut)";
  o["stages"] = nlohmann::ordered_json::array();
  for (const auto& s : r.stages)
    o["stages"].push_back({{"k", s.k},
                           {"run", s.evaluation.run},
                           {"metrics", means_json(s.evaluation)},
                           {"latency_ms",
                            {{"first_stage", latency_json(s.first_stage)},
                             {"rerank", latency_json(s.rerank)},
                             {"total", latency_json(s.total)}}}});
  o["cells"] = nlohmann::ordered_json::array();
  for (const auto& c : r.cells) {
    nlohmann::ordered_json cmp;
    for (const auto& x : c.comparisons) cmp[x.metric] = comparison_json(x);
    o["cells"].push_back({{"k", c.k},
                          {"top_n", c.top_n ? nlohmann::ordered_json(c.top_n) : nlohmann::ordered_json("all")},
                          {"run", c.evaluation.run},
                          {"metrics", means_json(c.evaluation)},
                          {"latency_ms", latency_json(r.stage(c.k).total)},
                          {"comparison", cmp}});
  }
  if (!r.cells.empty()) {
    const auto& h = r.headline();
    o["headline"] = {{"k", h.k}, {"top_n", h.top_n ? nlohmann::ordered_json(h.top_n) : nlohmann::ordered_json("all")}};
  }
  if (per_query) {
    const auto& fs = r.cells.empty() ? r.stages.back().evaluation : r.stage(r.headline().k).evaluation;
    nlohmann::ordered_json pq;
    for (size_t q = 0; q < r.query_ids.size(); ++q) {
      nlohmann::ordered_json v{{"ms", r.per_query_ms[q]}};
      nlohmann::ordered_json a, b;
      for (size_t m = 0; m < r.metrics.size(); ++m) {
        a[r.metrics[m].name] = fs.values[m][q];
        if (!r.cells.empty()) b[r.metrics[m].name] = r.headline().evaluation.values[m][q];
      }
      v["first_stage"] = a;
      if (!r.cells.empty()) v["reranked"] = b;
      pq[r.query_ids[q]] = v;
    }
    o["per_query"] = pq;
  }
  return o;
}

void write_runs(const std::filesystem::path& dir, const eval::PipelineEvaluation& r) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw InputError(dir.string() + ": cannot create the runs directory (" + ec.message() + ")");
  for (const auto& s : r.stages) eval::write_run(s.run, dir / ("first-stage-k" + std::to_string(s.k) + ".trec"), "first-stage");
  for (const auto& c : r.cells)
    eval::write_run(c.run, dir / ("reranked-k" + std::to_string(c.k) + "-n" + top_n_name(c.top_n) + ".trec"), "reranked");
}

}  // namespace

void run_eval_pipeline(const EvalFlags& f) {
  // Everything cheap is validated before a model is loaded.
  eval::PipelineEvalOptions o;
  o.metrics = eval::parse_metrics(f.metrics);
  o.relevance_level = f.relevance_level;
  o.permutations = f.permutations;
  o.seed = f.seed;
  o.warmup = f.warmup;
  o.queries_name = f.queries;
  o.qrels_name = f.qrels;
  if (!f.sweep.empty()) o.sweep = eval::parse_sweep(f.sweep);
  if (!o.sweep.top_n.empty() && f.reranker.empty())
    throw InputError("--sweep top-n needs --reranker MODEL: without a reranker there is no reranked run to cut");
  if (f.top_n && f.reranker.empty()) throw InputError("--top-n needs --reranker MODEL (it is the number of reranked results kept)");
  const eval::Qrels qrels = eval::read_qrels(f.qrels, eval::parse_qrels_format(f.qrels_format));
  const auto queries = eval::read_queries(f.queries, eval::parse_queries_format(f.queries_format));
  const size_t judged = eval::judged_queries(queries, qrels, o).size();

  std::optional<Collection> holder;
  auto engine = f.open_first_stage(holder);
  auto reranker = f.make_reranker();
  Pipeline p(engine, f.options(0), reranker);

  Progress progress("eval", judged);
  const auto t0 = std::chrono::steady_clock::now();
  eval::PipelineEvaluation r = eval::evaluate_pipeline(p, queries, qrels, o, [&](size_t, size_t) { progress.add(1); });
  progress.finish();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  if (f.json) {
    emit(to_json(r, f.per_query));
  } else {
    bool first = true;
    for (const auto& t : eval::pipeline_tables(r)) {
      std::printf("%s%s", first ? "" : "\n", t.text().c_str());
      first = false;
    }
    if (f.per_query) {
      const auto& fs = r.cells.empty() ? r.stages.back().evaluation : r.stage(r.headline().k).evaluation;
      std::printf("\nstage\tquery");
      for (const auto& m : r.metrics) std::printf("\t%s", m.name.c_str());
      std::printf("\tms\n");
      for (const auto* e : {&fs, r.cells.empty() ? nullptr : &r.headline().evaluation}) {
        if (!e) continue;
        for (size_t q = 0; q < r.query_ids.size(); ++q) {
          std::printf("%s\t%s", e == &fs ? "first-stage" : "reranked", r.query_ids[q].c_str());
          for (size_t m = 0; m < r.metrics.size(); ++m) std::printf("\t%.4f", e->values[m][q]);
          std::printf("\t%.3f\n", r.per_query_ms[q]);
        }
      }
    }
  }
  std::fflush(stdout);
  std::fprintf(stderr, "rerank: evaluated %zu judged queries in %.1f s", r.query_ids.size(), secs);
  if (r.unjudged_queries) std::fprintf(stderr, " (%zu queries without judgments skipped)", r.unjudged_queries);
  std::fprintf(stderr, "\n");
  if (!f.runs_out.empty()) {
    write_runs(f.runs_out, r);
    std::fprintf(stderr, "rerank: runs written to %s/\n", f.runs_out.c_str());
  }
  if (!f.report.empty()) {
    std::filesystem::path cp = std::filesystem::path(f.collection).lexically_normal();
    if (cp.filename().empty()) cp = cp.parent_path();
    std::string title = "rerank eval: " + (f.collection.empty() ? engine->describe() : cp.filename().string()) + ", " + r.retriever;
    if (!r.reranker.empty()) title += " + " + r.reranker;
    eval::write_pipeline_report(f.report, r, title);
    std::fprintf(stderr, "rerank: report written to %s/report.html and %s/report.md\n", f.report.c_str(), f.report.c_str());
  }
}

}  // namespace rerank::cli

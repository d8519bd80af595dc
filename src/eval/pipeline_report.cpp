// The tables and the report of an end-to-end evaluation (rerank/eval.hpp: pipeline_tables,
// write_pipeline_report): setup, first stage vs reranked with significance, latency per k, the sweep grid, and the
// SVG plots metric vs k, before/after per metric, per-query delta histograms and latency vs candidates.
#include <sstream>

#include "eval/html.hpp"
#include "rerank/error.hpp"
#include "rerank/eval.hpp"

namespace rerank::eval {

namespace {

std::string top_n_label(size_t n) { return n ? std::to_string(n) : std::string("all"); }

bool significant(const Comparison& c) { return c.ttest.p < 0.05 && c.p_randomization < 0.05; }

std::string queries_line(const PipelineEvaluation& r) {
  std::string s = std::to_string(r.query_ids.size()) + " judged queries run (of " + std::to_string(r.queries_in_file) +
                  " in the queries file";
  if (r.unjudged_queries) s += "; " + std::to_string(r.unjudged_queries) + " without judgments skipped";
  if (r.judged_without_text)
    s += "; " + std::to_string(r.judged_without_text) + (r.judged_without_text == 1 ? " judged query has" : " judged queries have") +
         " no text";
  s += ")";
  if (r.empty_results) s += "; " + std::to_string(r.empty_results) + " found nothing and count 0";
  return s;
}

std::string latency_note(const PipelineEvaluation& r) {
  std::string s =
      "Milliseconds per query, nearest-rank percentiles. first stage: retrieval at depth k, timed on its own; rerank: "
      "the reranker on the k candidates (passage texts read and scored); total = both.";
  if (r.ks.size() > 1)
    s += " A candidate's reranker score does not depend on k, so each is scored once per query: k ascending, the "
         "candidates new at each k in one call, rerank time at k = the calls so far. The first stage ran once untimed "
         "at the largest k first, so every k is timed with warm caches.";
  if (r.warm) s += " --warmup: every query's first stage ran once untimed before the timed pass.";
  return s;
}

}  // namespace

std::vector<Table> pipeline_tables(const PipelineEvaluation& r) {
  std::vector<Table> out;
  const bool rerank = !r.cells.empty();
  const size_t nm = r.metrics.size();
  {
    Table t;
    t.title = "Setup";
    t.id = "setup";
    t.numeric = false;
    t.header = {"setting", "value"};
    t.rows.push_back({"collection", r.collection + " (" + std::to_string(r.documents) + " documents)"});
    t.rows.push_back({"first stage", r.retriever});
    t.rows.push_back({"reranker", rerank ? r.reranker : "none"});
    std::string ks, ns;
    for (size_t k : r.ks) ks += (ks.empty() ? "" : ", ") + std::to_string(k);
    for (size_t n : r.top_ns) ns += (ns.empty() ? "" : ", ") + top_n_label(n);
    t.rows.push_back({"candidates k", ks});
    if (rerank) {
      t.rows.push_back({"kept top-n", ns});
      t.rows.push_back({"reranked run", "the k candidates ordered by the reranker's score, cut at top-n (all: none cut)"});
    }
    t.rows.push_back({"queries", queries_line(r)});
    out.push_back(std::move(t));
  }
  if (rerank) {
    const PipelineCell& h = r.headline();
    Table t = comparison_table(r.stage(h.k).evaluation.run, h.evaluation.run, h.comparisons);
    t.title = "First stage vs reranked (k=" + std::to_string(h.k) + ", top-n=" + top_n_label(h.top_n) + ")";
    t.id = "comparison";
    t.note = "Reranked = " + PipelineEvaluation::describe_reranked(h.k, h.top_n) + ". Paired over " +
             std::to_string(h.comparisons.empty() ? 0 : h.comparisons[0].n) +
             " queries; two-sided p-values of the paired t-test and the sign-flip randomization test; wins / ties / "
             "losses count queries where reranking is above / equal to / below the first stage.";
    out.push_back(std::move(t));
  } else {
    Table t;
    t.title = "First stage";
    t.id = "comparison";
    t.header.push_back("metric");
    for (const auto& s : r.stages) t.header.push_back(s.evaluation.run);
    for (size_t m = 0; m < nm; ++m) {
      t.rows.push_back({r.metrics[m].name});
      for (const auto& s : r.stages) t.rows.back().push_back(format_value(s.evaluation.mean(m)));
    }
    t.note = "No reranker: the first stage alone.";
    out.push_back(std::move(t));
  }
  {
    Table t;
    t.title = "Latency per query (ms)";
    t.id = "latency";
    t.header = {"k", "first stage p50", "first stage p95"};
    if (rerank) t.header.insert(t.header.end(), {"rerank p50", "rerank p95", "total p50", "total p95", "total mean"});
    for (const auto& s : r.stages) {
      std::vector<std::string> row{std::to_string(s.k), format_ms(s.first_stage.p50), format_ms(s.first_stage.p95)};
      if (rerank)
        for (double v : {s.rerank.p50, s.rerank.p95, s.total.p50, s.total.p95, s.total.mean}) row.push_back(format_ms(v));
      t.rows.push_back(std::move(row));
    }
    t.note = latency_note(r);
    out.push_back(std::move(t));
  }
  if (rerank && r.cells.size() > 1) {
    Table t;
    t.title = "Sweep: quality and latency per cell";
    t.id = "sweep";
    t.header = {"k", "top-n"};
    for (const auto& m : r.metrics) t.header.push_back(m.name);
    t.header.insert(t.header.end(), {"p50 ms", "p95 ms"});
    for (const auto& s : r.stages) {
      std::vector<std::string> row{std::to_string(s.k), "first stage"};
      for (size_t m = 0; m < nm; ++m) row.push_back(format_value(s.evaluation.mean(m)));
      row.push_back(format_ms(s.first_stage.p50));
      row.push_back(format_ms(s.first_stage.p95));
      t.rows.push_back(std::move(row));
      for (const auto& c : r.cells) {
        if (c.k != s.k) continue;
        std::vector<std::string> cr{std::to_string(c.k), top_n_label(c.top_n)};
        for (size_t m = 0; m < nm; ++m)
          cr.push_back(format_value(c.evaluation.mean(m)) + (significant(c.comparisons[m]) ? " *" : ""));
        cr.push_back(format_ms(s.total.p50));
        cr.push_back(format_ms(s.total.p95));
        t.rows.push_back(std::move(cr));
      }
    }
    t.note = "Rows \"first stage\": the first stage alone at k (its own latency); the other rows: reranked with top-n "
             "kept, end-to-end latency (top-n does not change the work, so the cells of one k share it). * = differs "
             "from the first stage at the same k with p < 0.05 in both tests.";
    out.push_back(std::move(t));

    Table c;
    c.title = "Sweep: every cell against the first stage at its k";
    c.id = "cells";
    c.header = {"k", "top-n", "metric", "first stage", "reranked", "diff", "p (t-test)", "p (randomization)", "wins / ties / losses"};
    for (const auto& cell : r.cells)
      for (const auto& x : cell.comparisons)
        c.rows.push_back({std::to_string(cell.k), top_n_label(cell.top_n), x.metric, format_value(x.mean_a),
                          format_value(x.mean_b), format_diff(x.diff), format_p(x.ttest.p), format_p(x.p_randomization),
                          std::to_string(x.wins) + " / " + std::to_string(x.ties) + " / " + std::to_string(x.losses)});
    out.push_back(std::move(c));
  } else if (!rerank && r.stages.size() > 1) {
    out[1].title = "First stage per k";
  }
  return out;
}

void write_pipeline_report(const std::filesystem::path& dir, const PipelineEvaluation& r, const std::string& title) {
  using namespace detail;
  if (r.stages.empty()) throw InputError("report: the evaluation has no result");
  make_report_dir(dir);
  const bool rerank = !r.cells.empty();
  const size_t nm = r.metrics.size();
  const auto tables = pipeline_tables(r);
  std::ostringstream html, md;
  html << html_page_start(title);
  md << "# " << md_escape(title) << "\n\n";
  auto figure = [&](const std::string& name, const std::string& caption, const std::string& svg) {
    write_text_file(dir / name, svg);
    html << "<figure>" << svg << "</figure>\n";
    md << "![" << md_escape(caption) << "](" << name << ")\n";
  };
  auto table = [&](const std::string& id) {
    for (const auto& t : tables)
      if (t.id == id) {
        html << t.html();
        md << t.markdown();
      }
  };
  std::vector<std::string> x_k;
  for (size_t k : r.ks) x_k.push_back(std::to_string(k));

  table("setup");
  table("comparison");
  if (rerank) {
    const PipelineCell& h = r.headline();
    const Evaluation& before = r.stage(h.k).evaluation;
    std::vector<std::string> groups;
    for (const auto& m : r.metrics) groups.push_back(m.name);
    std::vector<std::vector<double>> v(2);
    for (size_t m = 0; m < nm; ++m) {
      v[0].push_back(before.mean(m));
      v[1].push_back(h.evaluation.mean(m));
    }
    figure("before-after.svg", "Before and after reranking",
           svg_bar_chart(groups, {before.run, h.evaluation.run}, v, "Before and after reranking"));
    md << "\n";
    for (const auto& c : h.comparisons)
      figure("delta-" + file_safe(c.metric) + ".svg", "Per-query " + c.metric + " change",
             svg_histogram(c.deltas, "Per-query " + c.metric + ": reranked - first stage"));
    md << "\n";
  }
  table("latency");
  if (r.ks.size() > 1) {
    std::vector<std::string> series{"first stage p50"};
    std::vector<std::vector<double>> v(1);
    for (const auto& s : r.stages) v[0].push_back(s.first_stage.p50);
    if (rerank) {
      series.insert(series.end(), {"rerank p50", "total p50", "total p95"});
      v.resize(4);
      for (const auto& s : r.stages) {
        v[1].push_back(s.rerank.p50);
        v[2].push_back(s.total.p50);
        v[3].push_back(s.total.p95);
      }
    }
    figure("latency.svg", "Latency vs candidates",
           svg_line_chart(x_k, series, v, "Latency vs candidates", "first-stage candidates k", "ms per query", true));
    md << "\n";
  }
  table("sweep");
  if (r.ks.size() > 1) {
    for (size_t m = 0; m < nm; ++m) {
      std::vector<std::string> series{"first stage"};
      std::vector<std::vector<double>> v(1);
      for (const auto& s : r.stages) v[0].push_back(s.evaluation.mean(m));
      for (size_t j = 0; j < r.top_ns.size(); ++j) {
        series.push_back("reranked, top-n=" + top_n_label(r.top_ns[j]));
        v.emplace_back();
        for (const auto& c : r.cells)
          if (c.top_n == r.top_ns[j]) v.back().push_back(c.evaluation.mean(m));
      }
      const std::string& name = r.metrics[m].name;
      figure("vs-k-" + file_safe(name) + ".svg", name + " vs k",
             svg_line_chart(x_k, series, v, name + " vs candidates k", "first-stage candidates k", name));
    }
    md << "\n";
  }
  table("cells");
  html << "<p class=\"note\">Metrics follow trec_eval: a run's documents are ranked by score, ties by document id "
          "descending; relevance &ge; threshold is relevant; nDCG gain = relevance, discount log2(rank+1). Every run "
          "query is averaged (one whose first stage finds nothing counts 0).</p>\n"
       << html_page_end();
  md << "Metrics follow trec_eval (ties by score, then document id descending; nDCG gain = relevance). Every run query "
        "is averaged (one whose first stage finds nothing counts 0).\n";
  write_text_file(dir / "report.html", html.str());
  write_text_file(dir / "report.md", md.str());
}

}  // namespace rerank::eval

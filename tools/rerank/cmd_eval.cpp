// rerank eval: trec_eval-exact metrics against qrels. Two modes: TREC run files side by side (this file), or end
// to end (--collection: cmd_eval_pipeline.cpp), with paired significance tests and HTML/Markdown reports.
#include <cstdio>
#include <filesystem>

#include "cmd_eval.hpp"

namespace rerank::cli {

namespace {

void run_files(const EvalFlags& f) {
  auto metrics = eval::parse_metrics(f.metrics);
  eval::Qrels qrels = eval::read_qrels(f.qrels, eval::parse_qrels_format(f.qrels_format));
  eval::Options opts{f.relevance_level, f.complete};
  std::vector<eval::Evaluation> evs;
  for (const auto& path : f.runs) {
    eval::Run run = eval::read_run(path);  // named by its file name; by its path when two runs share a file name
    for (const auto& other : f.runs)
      if (&other != &path && std::filesystem::path(other).filename() == std::filesystem::path(path).filename()) run.name = path;
    evs.push_back(eval::evaluate(qrels, run, metrics, opts));
    if (evs.back().query_ids.empty())  // nothing averaged: a wrong pairing of files, or an empty run
      throw InputError(path + ": no query in common with the qrels " + f.qrels +
                       (run.queries.empty() ? " (the run is empty)" : " (are they of the same collection?)"));
  }
  std::vector<std::vector<eval::Comparison>> cmps;
  for (size_t r = 1; r < evs.size(); ++r) {
    cmps.emplace_back();
    for (size_t m = 0; m < metrics.size(); ++m) cmps.back().push_back(eval::compare(evs[0], evs[r], m, f.permutations, f.seed));
  }

  if (f.json) {
    nlohmann::ordered_json out;
    out["runs"] = nlohmann::ordered_json::array();
    for (const auto& ev : evs) {
      nlohmann::ordered_json r;
      r["run"] = ev.run;
      r["queries"] = ev.query_ids.size();
      r["missing_queries"] = ev.missing.size();
      nlohmann::ordered_json m;
      for (size_t i = 0; i < metrics.size(); ++i) m[metrics[i].name] = ev.mean(i);
      r["metrics"] = m;
      if (f.per_query) {
        nlohmann::ordered_json pq;
        for (size_t q = 0; q < ev.query_ids.size(); ++q) {
          nlohmann::ordered_json v;
          for (size_t i = 0; i < metrics.size(); ++i) v[metrics[i].name] = ev.values[i][q];
          pq[ev.query_ids[q]] = v;
        }
        r["per_query"] = pq;
      }
      out["runs"].push_back(r);
    }
    out["comparisons"] = nlohmann::ordered_json::array();
    for (size_t r = 0; r < cmps.size(); ++r) {
      nlohmann::ordered_json c;
      c["baseline"] = evs[0].run;
      c["run"] = evs[r + 1].run;
      c["queries"] = cmps[r].empty() ? 0 : cmps[r][0].n;
      nlohmann::ordered_json m;
      for (const auto& x : cmps[r]) m[x.metric] = comparison_json(x);
      c["metrics"] = m;
      out["comparisons"].push_back(c);
    }
    emit(out);
  } else {
    eval::Table means = eval::means_table(evs, cmps);
    means.title.clear();
    std::printf("%s", means.text().c_str());
    if (evs.size() > 2)
      for (size_t r = 0; r < cmps.size(); ++r) {
        eval::Table t = eval::comparison_table(evs[0].run, evs[r + 1].run, cmps[r]);
        t.note.clear();
        std::printf("\n%s", t.text().c_str());
      }
    for (const auto& ev : evs) {
      if (!ev.missing.empty() && !f.complete)
        std::fprintf(stderr, "rerank: note: %s: %zu qrels queries are not in the run and are not averaged (--complete counts them as 0)\n",
                     ev.run.c_str(), ev.missing.size());
    }
    if (f.per_query) {
      std::printf("\nrun\tquery");
      for (const auto& m : metrics) std::printf("\t%s", m.name.c_str());
      std::printf("\n");
      for (const auto& ev : evs)
        for (size_t q = 0; q < ev.query_ids.size(); ++q) {
          std::printf("%s\t%s", ev.run.c_str(), ev.query_ids[q].c_str());
          for (size_t i = 0; i < metrics.size(); ++i) std::printf("\t%.4f", ev.values[i][q]);
          std::printf("\n");
        }
    }
  }
  if (!f.report.empty()) {
    eval::write_report(f.report, evs, cmps, "rerank eval: " + f.qrels);
    std::fprintf(stderr, "rerank: report written to %s/report.html and %s/report.md\n", f.report.c_str(), f.report.c_str());
  }
}

void run_eval(const EvalFlags& f) {
  const bool files = !f.runs.empty(), e2e = !f.collection.empty() || f.uses_opensearch();
  if (files && e2e) throw InputError("--run (evaluate run files) and --collection (run the pipeline) are two modes: give one");
  if (!files && !e2e)
    throw InputError("give --run RUN.trec (evaluate run files) or --collection DIR --queries FILE (run the pipeline end to end)");
  if (files) {
    const std::pair<const char*, bool> e2e_only[] = {{"--queries", !f.queries.empty()}, {"--sweep", !f.sweep.empty()},
                                                     {"--runs-out", !f.runs_out.empty()}, {"--reranker", !f.reranker.empty()},
                                                     {"--warmup", f.warmup}};
    for (const auto& [flag, given] : e2e_only)
      if (given) throw InputError(std::string(flag) + " belongs to the end-to-end mode (--collection), not to --run");
    run_files(f);
  } else {
    if (f.queries.empty()) throw InputError("--collection needs --queries FILE (BEIR queries.jsonl, TREC topics or SMART .QRY)");
    if (f.complete) throw InputError("--complete is for run files; end to end, every judged query is run and averaged");
    run_eval_pipeline(f);
  }
}

}  // namespace

void register_eval(CLI::App& app) {
  auto f = std::make_shared<EvalFlags>();
  CLI::App* cmd = app.add_subcommand(
      "eval", "Evaluate retrieval against relevance judgments (trec_eval semantics): TREC run files, or the pipeline end to end");
  cmd->footer(
      "Run files: each --run is scored against --qrels and compared with the first (difference, two-sided paired\n"
      "t-test and randomization test p-values, per-query wins/ties/losses). Means are over the queries in both the run\n"
      "and the qrels (trec_eval's default); --complete averages over all qrels queries (trec_eval -c).\n"
      "End to end (--collection DIR --queries FILE): runs every query that has judgments through the first stage\n"
      "(--retriever, --k) and the --reranker, and reports both stages side by side with the difference and its\n"
      "significance, plus latency p50/p95 per query. The reranked run is what `rerank search --top-n N` returns: the\n"
      "k candidates ordered by the reranker, CUT at top-n (default: all k, nothing cut), so with top-n < k metrics\n"
      "deeper than top-n see only top-n documents. Queries without judgments are skipped; a query whose first stage\n"
      "finds nothing counts 0. --sweep runs a grid (the first stage once per k, each candidate scored once per\n"
      "query) and reports quality and latency per cell, so you see where more candidates stop paying.\n"
      "Qrels: BEIR TSV or TREC `qid 0 docid rel`, auto-detected; also cranqrel, CISI.REL and `qid docid 0 0` (CACM;\n"
      "auto picks it when the TREC reading would make the document-id column constant) (--qrels-format).\n"
      "Queries: BEIR JSONL, TREC <top> topics (classic open tags or closed ones), SMART .QRY (cran.qry: ids are\n"
      "positions, as cranqrel numbers them).\n"
      "Query ids compare as numbers when both sides are numeric: \"01\" in the qrels is query \"1\" of the run or the\n"
      "queries file (trec_eval users' expectation); other ids must match exactly.\n"
      "Documents are ranked by score, ties by document id descending, as trec_eval does. nDCG gain = relevance.\n"
      "Metrics: ndcg@K map@K map mrr@K p@K recall@K rprec hit@K (or trec_eval names: ndcg_cut_10, P_5, recip_rank...).\n\n"
      "Examples:\n"
      "  rerank eval --qrels qrels/test.tsv --run bm25.trec --run reranked.trec --metrics ndcg@10,p@3 --report out/\n"
      "  rerank eval --qrels qrels/test.tsv --run bm25.trec --json    # {\"runs\": [{\"run\": ..., \"metrics\": {...}}], ...}\n"
      "  rerank eval --collection scifact-idx --queries queries.jsonl --qrels qrels/test.tsv \\\n"
      "      --k 100 --reranker cross-encoder/ms-marco-MiniLM-L-6-v2 --report out/\n"
      "  rerank eval --collection scifact-idx --queries queries.jsonl --qrels qrels/test.tsv \\\n"
      "      --reranker ms-marco-MiniLM-L-6-v2 --sweep k=10,20,50,100 top-n=3,5,10 --metrics ndcg@10,recall@10\n"
      "  rerank eval --collection cran-idx --queries cran.qry --qrels cranqrel --k 50 --runs-out runs/");
  cmd->add_option("--qrels", f->qrels, "Relevance judgments file")->required();
  cmd->add_option("--run", f->runs, "TREC run file (repeat to compare; the first is the baseline)");
  cmd->add_option("--metrics", f->metrics, "Comma-separated metrics")->capture_default_str();
  cmd->add_option("--qrels-format", f->qrels_format, "auto, trec, beir, cranfield, cisi or qid-docid (CACM `qid docid 0 0`)")->capture_default_str();
  cmd->add_flag("--json", f->json, "Print one JSON object instead of tables");
  cmd->add_flag("--per-query", f->per_query, "Also print every query's values");
  cmd->add_flag("-c,--complete", f->complete, "Run files: average over every qrels query; queries missing from a run count 0");
  cmd->add_option("--relevance-level", f->relevance_level, "Minimum relevance counted as relevant (trec_eval -l)")
      ->capture_default_str()
      ->check(CLI::Range(-1000000, 1000000));
  cmd->add_option("--permutations", f->permutations, "Randomization test permutations")->capture_default_str()->check(CLI::Range(1, 10000000));
  cmd->add_option("--seed", f->seed, "Randomization test seed")->capture_default_str();
  cmd->add_option("--report", f->report, "Write DIR/report.html (self-contained) and DIR/report.md with tables and SVG charts");
  // End to end
  cmd->add_option("--collection", f->collection, "End to end: collection directory (made by rerank index)")->group("End to end");
  add_opensearch_flags(cmd, f->opensearch);
  cmd->add_option("--queries", f->queries, "End to end: queries (BEIR JSONL, TREC topics or SMART .QRY)")->group("End to end");
  cmd->add_option("--queries-format", f->queries_format, "auto, beir, trec, cranfield or smart")->capture_default_str()->group("End to end");
  cmd->add_option("--sweep", f->sweep, "End to end: grid, e.g. --sweep k=10,20,50,100 top-n=3,5,10 (top-n also \"all\")")
      ->group("End to end");
  cmd->add_option("--runs-out", f->runs_out, "End to end: write the TREC run of every stage and cell into DIR")->group("End to end");
  cmd->add_flag("--warmup", f->warmup, "End to end: run every query's first stage (and the reranker once) untimed first")
      ->group("End to end");
  f->add(cmd, "Results kept after reranking; the rest is cut (default: all k)", false);
  cmd->callback([f] { run_eval(*f); });
}

}  // namespace rerank::cli

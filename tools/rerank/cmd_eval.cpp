// rerank eval: trec_eval-exact metrics of TREC runs against qrels, side by side, with paired significance tests.
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "cli.hpp"
#include "rerank/eval.hpp"

namespace rerank::cli {

namespace {

struct EvalFlags {
  std::string qrels;
  std::vector<std::string> runs;
  std::string metrics = eval::kDefaultMetrics;
  std::string qrels_format = "auto";
  bool json = false;
  bool per_query = false;
  bool complete = false;
  int relevance_level = 1;
  size_t permutations = 10000;
  uint64_t seed = 42;
  std::string report;
};

nlohmann::ordered_json number(double v) {
  if (std::isnan(v)) return nullptr;
  if (std::isinf(v)) return v > 0 ? 1e308 : -1e308;
  return v;
}

std::string pad(const std::string& s, size_t w, bool right) {
  if (s.size() >= w) return s;
  return right ? std::string(w - s.size(), ' ') + s : s + std::string(w - s.size(), ' ');
}

std::string f4(double v) {
  if (std::isnan(v)) return "n/a";
  char b[48];
  std::snprintf(b, sizeof b, "%.4f", v);
  return b;
}

std::string fp(double v) {
  if (std::isnan(v)) return "n/a";
  char b[48];
  if (v < 0.0001) std::snprintf(b, sizeof b, "%.1e", v);
  else std::snprintf(b, sizeof b, "%.4f", v);
  return b;
}

void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> w;
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (w.size() <= i) w.push_back(0);
      w[i] = std::max(w[i], r[i].size());
    }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) line += (i ? "  " : "") + pad(r[i], w[i], i > 0);
    std::printf("%s\n", line.c_str());
  }
}

void run_eval(const EvalFlags& f) {
  auto metrics = eval::parse_metrics(f.metrics);
  eval::Qrels qrels = eval::read_qrels(f.qrels, eval::parse_qrels_format(f.qrels_format));
  eval::Options opts{f.relevance_level, f.complete};
  std::vector<eval::Evaluation> evs;
  for (const auto& path : f.runs) {
    eval::Run run = eval::read_run(path);  // named by its file name; by its path when two runs share a file name
    for (const auto& other : f.runs)
      if (&other != &path && std::filesystem::path(other).filename() == std::filesystem::path(path).filename()) run.name = path;
    evs.push_back(eval::evaluate(qrels, run, metrics, opts));
    if (evs.back().query_ids.empty())
      std::fprintf(stderr, "rerank: warning: %s: no query in common with the qrels %s\n", path.c_str(), f.qrels.c_str());
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
      for (const auto& x : cmps[r]) {
        m[x.metric] = {{"baseline", x.mean_a}, {"run", x.mean_b},      {"diff", x.diff},
                       {"t", number(x.ttest.t)}, {"p_ttest", number(x.ttest.p)}, {"p_randomization", number(x.p_randomization)},
                       {"wins", x.wins},         {"ties", x.ties},    {"losses", x.losses}};
      }
      c["metrics"] = m;
      out["comparisons"].push_back(c);
    }
    emit(out);
  } else {
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> head{"metric"};
    for (const auto& ev : evs) head.push_back(ev.run);
    if (evs.size() == 2) {
      head.push_back("diff");
      head.push_back("p(t-test)");
      head.push_back("p(rand)");
      head.push_back("win/tie/loss");
    }
    rows.push_back(head);
    for (size_t m = 0; m < metrics.size(); ++m) {
      std::vector<std::string> row{metrics[m].name};
      for (const auto& ev : evs) row.push_back(f4(ev.mean(m)));
      if (evs.size() == 2) {
        const auto& c = cmps[0][m];
        char d[32];
        std::snprintf(d, sizeof d, "%+.4f", c.diff);
        row.push_back(d);
        row.push_back(fp(c.ttest.p));
        row.push_back(fp(c.p_randomization));
        row.push_back(std::to_string(c.wins) + "/" + std::to_string(c.ties) + "/" + std::to_string(c.losses));
      }
      rows.push_back(row);
    }
    std::vector<std::string> qrow{"queries"};
    for (const auto& ev : evs) qrow.push_back(std::to_string(ev.query_ids.size()));
    rows.push_back(qrow);
    print_table(rows);
    if (evs.size() > 2) {
      for (size_t r = 0; r < cmps.size(); ++r) {
        std::printf("\n%s vs %s\n", evs[r + 1].run.c_str(), evs[0].run.c_str());
        std::vector<std::vector<std::string>> cr{{"metric", "diff", "p(t-test)", "p(rand)", "win/tie/loss"}};
        for (const auto& c : cmps[r]) {
          char d[32];
          std::snprintf(d, sizeof d, "%+.4f", c.diff);
          cr.push_back({c.metric, d, fp(c.ttest.p), fp(c.p_randomization),
                        std::to_string(c.wins) + "/" + std::to_string(c.ties) + "/" + std::to_string(c.losses)});
        }
        print_table(cr);
      }
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

}  // namespace

void register_eval(CLI::App& app) {
  auto f = std::make_shared<EvalFlags>();
  CLI::App* cmd = app.add_subcommand("eval", "Score TREC runs against relevance judgments (trec_eval semantics), compare them with significance tests");
  cmd->footer(
      "Qrels: BEIR TSV (header query-id, corpus-id, score) or TREC `qid 0 docid rel`, auto-detected; also Cranfield's\n"
      "cranqrel (codes 1..4 -> relevance 4..1, -1 -> 0) and CISI.REL (--qrels-format). Runs: TREC `qid Q0 docid rank\n"
      "score tag`. Documents are ranked by score, ties by document id descending, as trec_eval does; a document twice\n"
      "in one query is an error. Relevance >= --relevance-level counts as relevant; nDCG uses the relevance as gain.\n"
      "Means are over the queries in both the run and the qrels (trec_eval's default); --complete averages over all\n"
      "qrels queries (trec_eval -c). With two or more runs, each is compared with the first: difference, two-sided\n"
      "paired t-test and randomization test p-values, and per-query wins/ties/losses.\n"
      "Metrics: ndcg@K map@K map mrr@K p@K recall@K rprec hit@K (or trec_eval names: ndcg_cut_10, P_5, recip_rank...).\n\n"
      "Examples:\n"
      "  rerank eval --qrels qrels/test.tsv --run bm25.trec\n"
      "  rerank eval --qrels qrels/test.tsv --run bm25.trec --run reranked.trec --metrics ndcg@10,p@3 --report out/\n"
      "  rerank eval --qrels qrels/test.tsv --run bm25.trec --json    # {\"runs\": [{\"run\": ..., \"metrics\": {\"ndcg@10\": ...}}], ...}");
  cmd->add_option("--qrels", f->qrels, "Relevance judgments file")->required();
  cmd->add_option("--run", f->runs, "TREC run file (repeat to compare; the first is the baseline)")->required();
  cmd->add_option("--metrics", f->metrics, "Comma-separated metrics")->capture_default_str();
  cmd->add_option("--qrels-format", f->qrels_format, "auto, trec, beir, cranfield or cisi")->capture_default_str();
  cmd->add_flag("--json", f->json, "Print one JSON object instead of a table");
  cmd->add_flag("--per-query", f->per_query, "Also print every query's values");
  cmd->add_flag("-c,--complete", f->complete, "Average over every qrels query; queries missing from a run count 0");
  cmd->add_option("--relevance-level", f->relevance_level, "Minimum relevance counted as relevant (trec_eval -l)")
      ->capture_default_str()
      ->check(CLI::Range(-1000000, 1000000));
  cmd->add_option("--permutations", f->permutations, "Randomization test permutations")->capture_default_str()->check(CLI::Range(1, 10000000));
  cmd->add_option("--seed", f->seed, "Randomization test seed")->capture_default_str();
  cmd->add_option("--report", f->report, "Write DIR/report.html (self-contained) and DIR/report.md with tables and SVG charts");
  cmd->callback([f] { run_eval(*f); });
}

}  // namespace rerank::cli

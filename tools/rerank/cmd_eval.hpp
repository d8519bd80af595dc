// rerank eval's flags, shared by its two modes: run files (cmd_eval.cpp) and end to end (cmd_eval_pipeline.cpp).
#pragma once
#include <cmath>

#include "cli.hpp"
#include "rerank/eval.hpp"

namespace rerank::cli {

struct EvalFlags : PipelineFlags {
  std::string qrels;
  std::vector<std::string> runs;
  std::string metrics = eval::kDefaultMetrics;
  std::string qrels_format = "auto", queries_format = "auto";
  std::string queries;              ///< end to end
  std::vector<std::string> sweep;   ///< end to end: "k=10,20" "top-n=3,5"
  std::string runs_out;             ///< end to end: directory for the TREC runs of every stage and cell
  bool json = false;
  bool per_query = false;
  bool complete = false;
  bool warmup = false;
  int relevance_level = 1;
  size_t permutations = 10000;
  uint64_t seed = 42;
  std::string report;
};

/// The end-to-end mode (--collection + --queries).
void run_eval_pipeline(const EvalFlags& f);

/// A JSON number; NaN as null.
inline nlohmann::ordered_json json_number(double v) {
  if (std::isnan(v)) return nullptr;
  if (std::isinf(v)) return v > 0 ? 1e308 : -1e308;
  return v;
}

/// One comparison as JSON: baseline/run means, diff, t, both p-values, wins/ties/losses.
inline nlohmann::ordered_json comparison_json(const eval::Comparison& x) {
  return {{"baseline", x.mean_a},
          {"run", x.mean_b},
          {"diff", x.diff},
          {"t", json_number(x.ttest.t)},
          {"p_ttest", json_number(x.ttest.p)},
          {"p_randomization", json_number(x.p_randomization)},
          {"wins", x.wins},
          {"ties", x.ties},
          {"losses", x.losses}};
}

}  // namespace rerank::cli

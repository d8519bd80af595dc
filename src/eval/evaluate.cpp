// Evaluating a run against qrels: trec_eval's ranking, query selection and averaging.
#include <algorithm>
#include <set>
#include <unordered_set>

#include "eval/text.hpp"
#include "rerank/eval.hpp"

namespace rerank::eval {

double Evaluation::mean(size_t metric) const {
  const auto& v = values.at(metric);
  if (v.empty()) return 0.0;
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

int Evaluation::index(const std::string& canonical_name) const {
  for (size_t i = 0; i < metrics.size(); ++i)
    if (metrics[i].name == canonical_name) return static_cast<int>(i);
  return -1;
}

Evaluation evaluate(const Qrels& qrels, const Run& run, const std::vector<Metric>& metrics, const Options& opts) {
  Evaluation ev;
  ev.run = run.name;
  ev.metrics = metrics;
  ev.values.assign(metrics.size(), {});

  std::set<std::string, QueryIdLess> qids;  // sorted, as trec_eval -q prints them ("01" = "1")
  for (const auto& [qid, docs] : run.queries) {
    if (qrels.queries.count(qid)) qids.insert(qid);
    else ++ev.ignored;
  }
  for (const auto& [qid, j] : qrels.queries)
    if (!run.queries.count(qid)) {
      ev.missing.push_back(qid);
      if (opts.complete) qids.insert(qid);
    }

  std::vector<int> rels;
  for (const auto& qid : qids) {
    const auto& judged = qrels.queries.at(qid);
    rels.clear();
    if (auto it = run.queries.find(qid); it != run.queries.end()) {
      auto docs = ranked(it->second);
      {
        std::unordered_set<std::string_view> seen;
        for (const auto& d : docs)
          if (!seen.insert(d.doc_id).second)
            throw InputError("run " + detail::quote(run.name) + ": query " + detail::quote(qid) + ": document " +
                             detail::quote(d.doc_id) + " appears twice");
      }
      rels.reserve(docs.size());
      for (const auto& d : docs) {
        auto j = judged.find(d.doc_id);
        rels.push_back(j == judged.end() ? 0 : j->second);  // unjudged = not relevant, no gain
      }
    }
    ev.query_ids.push_back(qid);
    for (size_t m = 0; m < metrics.size(); ++m) ev.values[m].push_back(metric_value(metrics[m], rels, judged, opts.relevance_level));
  }
  return ev;
}

}  // namespace rerank::eval

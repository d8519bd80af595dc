// Metric names and per-query values with trec_eval 9's definitions (m_P.c, m_recall.c, m_recip_rank.c,
// m_ndcg_cut.c, m_map.c / m_map_cut.c, m_Rprec.c, m_success.c).
#include <algorithm>
#include <cmath>
#include <functional>

#include "eval/text.hpp"
#include "rerank/eval.hpp"

namespace rerank::eval {

namespace {

const char* kAccepted =
    "ndcg@K, ndcg, map@K, map, mrr@K, mrr, p@K, recall@K, rprec, hit@K (case-insensitive), or trec_eval names "
    "ndcg_cut_K, map_cut_K, recip_rank, P_K, recall_K, Rprec, success_K";

std::string canonical(MetricKind kind, int k) {
  std::string base;
  switch (kind) {
    case MetricKind::Precision: base = "p"; break;
    case MetricKind::Recall: base = "recall"; break;
    case MetricKind::MRR: base = "mrr"; break;
    case MetricKind::NDCG: base = "ndcg"; break;
    case MetricKind::MAP: base = "map"; break;
    case MetricKind::RPrec: return "rprec";
    case MetricKind::Hit: base = "hit"; break;
  }
  return k > 0 ? base + "@" + std::to_string(k) : base;
}

}  // namespace

Metric parse_metric(std::string_view raw) {
  const std::string name = detail::lower(detail::trim(raw));
  auto bad = [&](const std::string& why) -> Metric {
    throw InputError("unknown metric " + detail::quote(raw) + (why.empty() ? "" : " (" + why + ")") + "; accepted: " + kAccepted);
  };
  // Split into base and cutoff: "ndcg@10", "ndcg_cut_10", "ndcg_cut.10", "p_5", "p.5", "success_10".
  std::string base = name, cut;
  if (auto at = name.find('@'); at != std::string::npos) {
    base = name.substr(0, at);
    cut = name.substr(at + 1);
  } else {
    size_t p = name.find_last_of("_.");
    if (p != std::string::npos && p + 1 < name.size() &&
        std::all_of(name.begin() + p + 1, name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      base = name.substr(0, p);
      cut = name.substr(p + 1);
    }
  }
  int k = 0;
  if (!cut.empty()) {
    auto v = detail::parse_int(cut);
    if (!v || *v < 1 || *v > 100000000) return bad("the cutoff must be a positive integer");
    k = static_cast<int>(*v);
  } else if (name.find('@') != std::string::npos) {
    return bad("missing cutoff after @");
  }
  MetricKind kind;
  if (base == "ndcg" || base == "ndcg_cut") kind = MetricKind::NDCG;
  else if (base == "map" || base == "map_cut" || base == "ap") kind = MetricKind::MAP;
  else if (base == "mrr" || base == "recip_rank" || base == "rr") kind = MetricKind::MRR;
  else if (base == "p" || base == "precision" || base == "prec") kind = MetricKind::Precision;
  else if (base == "recall" || base == "r") kind = MetricKind::Recall;
  else if (base == "rprec" || base == "r-prec" || base == "r-precision") kind = MetricKind::RPrec;
  else if (base == "hit" || base == "hits" || base == "success" || base == "hit_rate") kind = MetricKind::Hit;
  else return bad("");
  if (kind == MetricKind::RPrec && k) return bad("R-precision takes no cutoff");
  if ((kind == MetricKind::Precision || kind == MetricKind::Recall || kind == MetricKind::Hit) && !k)
    return bad("this metric needs a cutoff, e.g. " + canonical(kind, 10));
  if ((base == "ndcg_cut" || base == "map_cut") && !k) return bad("needs a cutoff");
  return Metric{kind, k, canonical(kind, k)};
}

std::vector<Metric> parse_metrics(std::string_view list) {
  std::vector<Metric> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t p = list.find(',', start);
    std::string_view item = detail::trim(list.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
    if (!item.empty()) {
      Metric m = parse_metric(item);
      if (std::none_of(out.begin(), out.end(), [&](const Metric& o) { return o.name == m.name; })) out.push_back(m);
    }
    if (p == std::string_view::npos) break;
    start = p + 1;
  }
  if (out.empty()) throw InputError("no metric given; accepted: " + std::string(kAccepted));
  return out;
}

double metric_value(const Metric& m, const std::vector<int>& rels, const std::unordered_map<std::string, int>& judged,
                    int level) {
  size_t num_rel = 0;
  for (const auto& [doc, r] : judged)
    if (r >= level) ++num_rel;
  const size_t n = rels.size();
  auto depth = [&](size_t k) { return k == 0 ? n : std::min(n, k); };
  auto rel_in_top = [&](size_t k) {
    size_t c = 0;
    for (size_t i = 0; i < depth(k); ++i) c += rels[i] >= level;
    return c;
  };
  const size_t k = static_cast<size_t>(m.k);
  switch (m.kind) {
    case MetricKind::Precision:  // m_P.c: relevant retrieved in the top k / k, whatever was retrieved
      return static_cast<double>(rel_in_top(k)) / static_cast<double>(k);
    case MetricKind::Recall:  // m_recall.c: 0 when the query has no relevant document
      return num_rel ? static_cast<double>(rel_in_top(k)) / static_cast<double>(num_rel) : 0.0;
    case MetricKind::Hit:  // m_success.c
      return rel_in_top(k) > 0 ? 1.0 : 0.0;
    case MetricKind::RPrec:  // m_Rprec.c: relevant in the top R / R
      return num_rel ? static_cast<double>(rel_in_top(num_rel)) / static_cast<double>(num_rel) : 0.0;
    case MetricKind::MRR:  // m_recip_rank.c on the list cut at k
      for (size_t i = 0; i < depth(k); ++i)
        if (rels[i] >= level) return 1.0 / static_cast<double>(i + 1);
      return 0.0;
    case MetricKind::MAP: {  // m_map.c / m_map_cut.c: sum of precisions at relevant ranks / number relevant
      if (!num_rel) return 0.0;
      double sum = 0;
      size_t found = 0;
      for (size_t i = 0; i < depth(k); ++i)
        if (rels[i] >= level) sum += static_cast<double>(++found) / static_cast<double>(i + 1);
      return sum / static_cast<double>(num_rel);
    }
    case MetricKind::NDCG: {  // m_ndcg_cut.c: gain = relevance (> 0), discount log2(rank + 1)
      double dcg = 0;
      for (size_t i = 0; i < depth(k); ++i)
        if (rels[i] > 0) dcg += rels[i] / std::log2(static_cast<double>(i + 2));
      std::vector<int> ideal;
      for (const auto& [doc, r] : judged)
        if (r > 0) ideal.push_back(r);
      std::sort(ideal.begin(), ideal.end(), std::greater<>());
      double idcg = 0;
      const size_t id = k == 0 ? ideal.size() : std::min(ideal.size(), k);
      for (size_t i = 0; i < id; ++i) idcg += ideal[i] / std::log2(static_cast<double>(i + 2));
      return idcg > 0 ? dcg / idcg : 0.0;
    }
  }
  return 0.0;
}

}  // namespace rerank::eval

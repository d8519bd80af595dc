// Hybrid fusion of ranked lists: reciprocal-rank fusion (Cormack et al. 2009) and weighted min-max score fusion.
#include <algorithm>
#include <unordered_map>

#include "rerank/error.hpp"
#include "rerank/pipeline.hpp"

namespace rerank {
namespace {

std::string key(const Hit& h) { return h.doc_id + '\x1f' + std::to_string(h.passage); }

struct Acc {
  Hit hit;
  double score = 0;
  size_t first_seen;  // for a stable order of ties
};

std::vector<Hit> finish(std::unordered_map<std::string, Acc>& acc, size_t k) {
  std::vector<Acc> v;
  v.reserve(acc.size());
  for (auto& [_, a] : acc) v.push_back(std::move(a));
  std::sort(v.begin(), v.end(), [](const Acc& a, const Acc& b) { return a.score > b.score || (a.score == b.score && a.first_seen < b.first_seen); });
  if (v.size() > k) v.resize(k);
  std::vector<Hit> out;
  for (auto& a : v) {
    a.hit.score = static_cast<float>(a.score);
    out.push_back(std::move(a.hit));
  }
  return out;
}

/// Fusion identifies a result by document (per-document lists) — the passage may differ between retrievers,
/// in which case the first list's passage is kept.
std::string doc_key(const Hit& h, bool per_passage) { return per_passage ? key(h) : h.doc_id; }

bool lists_per_passage(const std::vector<std::vector<Hit>>& lists) {
  for (const auto& l : lists) {
    std::unordered_map<std::string, int> seen;
    for (const auto& h : l)
      if (++seen[h.doc_id] > 1) return true;
  }
  return false;
}

}  // namespace

std::vector<Hit> fuse_rrf(const std::vector<std::vector<Hit>>& lists, float rrf_k, size_t k) {
  bool pp = lists_per_passage(lists);
  std::unordered_map<std::string, Acc> acc;
  size_t order = 0;
  for (const auto& l : lists)
    for (size_t r = 0; r < l.size(); ++r) {
      auto [it, fresh] = acc.try_emplace(doc_key(l[r], pp), Acc{l[r], 0.0, order++});
      it->second.score += 1.0 / (static_cast<double>(rrf_k) + static_cast<double>(r + 1));
    }
  return finish(acc, k);
}

std::vector<Hit> fuse_weighted(const std::vector<Hit>& a, const std::vector<Hit>& b, float weight_b, size_t k) {
  bool pp = lists_per_passage({a, b});
  std::unordered_map<std::string, Acc> acc;
  size_t order = 0;
  auto add = [&](const std::vector<Hit>& l, double w) {
    if (l.empty()) return;
    auto [lo, hi] = std::minmax_element(l.begin(), l.end(), [](const Hit& x, const Hit& y) { return x.score < y.score; });
    double range = static_cast<double>(hi->score) - static_cast<double>(lo->score);
    for (const auto& h : l) {
      double n = range > 0 ? (static_cast<double>(h.score) - lo->score) / range : 1.0;
      auto [it, fresh] = acc.try_emplace(doc_key(h, pp), Acc{h, 0.0, order++});
      it->second.score += w * n;
    }
  };
  add(a, 1.0 - weight_b);
  add(b, weight_b);
  return finish(acc, k);
}

Retriever parse_retriever(const std::string& name) {
  if (name == "bm25") return Retriever::Bm25;
  if (name == "dense") return Retriever::Dense;
  if (name == "hybrid") return Retriever::Hybrid;
  throw InputError("unknown retriever \"" + name + "\" (expected bm25, dense or hybrid)");
}

Fusion parse_fusion(const std::string& name) {
  if (name == "rrf") return Fusion::Rrf;
  if (name == "weighted") return Fusion::Weighted;
  throw InputError("unknown fusion \"" + name + "\" (expected rrf or weighted)");
}

}  // namespace rerank

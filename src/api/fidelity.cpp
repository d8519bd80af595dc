#include "rerank/fidelity.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "rerank/error.hpp"

namespace rerank {
namespace {

// Average ranks (1-based; ties share their mean rank), as scipy.stats.rankdata does.
std::vector<double> ranks(const std::vector<float>& v) {
  std::vector<size_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    while (j + 1 < idx.size() && v[idx[j + 1]] == v[idx[i]]) ++j;
    for (size_t k = i; k <= j; ++k) r[idx[k]] = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
    i = j + 1;
  }
  return r;
}

std::set<size_t> top(const std::vector<float>& v, size_t k) {
  std::vector<size_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return v[a] > v[b]; });
  idx.resize(std::min(k, idx.size()));
  return {idx.begin(), idx.end()};
}

}  // namespace

double spearman(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) throw InputError("spearman: vectors of different lengths");
  if (a.size() < 2) return 1.0;
  auto ra = ranks(a), rb = ranks(b);
  const double n = static_cast<double>(a.size());
  const double ma = std::accumulate(ra.begin(), ra.end(), 0.0) / n, mb = std::accumulate(rb.begin(), rb.end(), 0.0) / n;
  double num = 0, da = 0, db = 0;
  for (size_t i = 0; i < ra.size(); ++i) {
    num += (ra[i] - ma) * (rb[i] - mb);
    da += (ra[i] - ma) * (ra[i] - ma);
    db += (rb[i] - mb) * (rb[i] - mb);
  }
  if (da == 0 || db == 0) return da == db ? 1.0 : 0.0;  // constant vectors: equal only if both are
  return num / std::sqrt(da * db);
}

Fidelity compare_rankings(const std::vector<std::vector<float>>& reference, const std::vector<std::vector<float>>& candidate,
                          size_t top_k) {
  if (reference.size() != candidate.size()) throw InputError("compare_rankings: different numbers of queries");
  Fidelity f;
  f.queries = reference.size();
  f.min_spearman = 1.0;
  for (size_t q = 0; q < reference.size(); ++q) {
    const auto& r = reference[q];
    const auto& c = candidate[q];
    if (r.size() != c.size()) throw InputError("compare_rankings: query " + std::to_string(q) + " has different lengths");
    const double rho = spearman(r, c);
    f.mean_spearman += rho;
    f.min_spearman = std::min(f.min_spearman, rho);
    auto tr = top(r, top_k), tc = top(c, top_k);
    size_t common = 0;
    for (size_t i : tr) common += tc.count(i);
    f.mean_top_overlap += tr.empty() ? 1.0 : static_cast<double>(common) / static_cast<double>(tr.size());
    for (size_t i = 0; i < r.size(); ++i) f.max_abs_diff = std::max(f.max_abs_diff, static_cast<double>(std::fabs(r[i] - c[i])));
  }
  if (f.queries) {
    f.mean_spearman /= static_cast<double>(f.queries);
    f.mean_top_overlap /= static_cast<double>(f.queries);
  }
  return f;
}

}  // namespace rerank

// rerank/fidelity.hpp — how closely a fast mode (bf16, int8) reproduces the exact fp32 ranking.
//
//   // scores[q][d]: query q's scores of its documents, in the same document order in both modes
//   rerank::Fidelity f = rerank::compare_rankings(fp32_scores, bf16_scores, 10);
//   std::cout << f.mean_spearman << " " << f.mean_top_overlap << " " << f.max_abs_diff << "\n";
//
// Thread safety: pure functions.
#pragma once
#include <cstddef>
#include <vector>

namespace rerank {

struct Fidelity {
  size_t queries = 0;
  double mean_spearman = 0, min_spearman = 0;  ///< per-query Spearman rank correlation (average ranks for ties)
  double mean_top_overlap = 0;                 ///< |top-k(ref) ∩ top-k(candidate)| / k, averaged over queries
  double max_abs_diff = 0;                     ///< max |ref - candidate| over all scores
};

/// Spearman's rho between two equally long score vectors (1 for fewer than two items).
double spearman(const std::vector<float>& a, const std::vector<float>& b);
/// Per-query comparison of two modes' scores. Throws InputError when the shapes differ.
Fidelity compare_rankings(const std::vector<std::vector<float>>& reference, const std::vector<std::vector<float>>& candidate,
                          size_t top_k = 10);

}  // namespace rerank

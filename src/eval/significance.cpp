// Paired significance tests: Student's t (CDF from the regularized incomplete beta function) and a seeded
// sign-flip randomization test; per-query wins/ties/losses.
#include <cmath>
#include <limits>
#include <map>
#include <random>

#include "rerank/error.hpp"
#include "rerank/eval.hpp"

namespace rerank::eval {

namespace {

// Continued fraction for I_x(a, b) (modified Lentz), converging for x < (a + 1) / (a + b + 2).
double beta_cf(double a, double b, double x) {
  const double tiny = 1e-300, eps = 1e-16;
  double qab = a + b, qap = a + 1, qam = a - 1;
  double c = 1, d = 1 - qab * x / qap;
  if (std::fabs(d) < tiny) d = tiny;
  d = 1 / d;
  double h = d;
  for (int m = 1; m <= 10000; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1 / d;
    const double del = d * c;
    h *= del;
    if (std::fabs(del - 1) < eps) break;
  }
  return h;
}

}  // namespace

double incomplete_beta(double a, double b, double x) {
  if (!(a > 0) || !(b > 0) || std::isnan(x)) return std::numeric_limits<double>::quiet_NaN();
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double lbt = std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  const double bt = std::exp(lbt);
  if (x < (a + 1) / (a + b + 2)) return bt * beta_cf(a, b, x) / a;
  return 1 - bt * beta_cf(b, a, 1 - x) / b;
}

double student_t_cdf(double t, double df) {
  if (std::isnan(t) || !(df > 0)) return std::numeric_limits<double>::quiet_NaN();
  if (std::isinf(t)) return t > 0 ? 1.0 : 0.0;
  const double tail = 0.5 * incomplete_beta(df / 2, 0.5, df / (df + t * t));  // P(T > |t|)
  return t > 0 ? 1 - tail : tail;
}

TTest paired_t_test(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) throw InputError("paired t-test: the two samples have different sizes");
  TTest r;
  const size_t n = a.size();
  r.df = n >= 1 ? static_cast<double>(n - 1) : 0;
  if (n < 2) {
    r.p = std::numeric_limits<double>::quiet_NaN();
    return r;
  }
  double mean = 0;
  for (size_t i = 0; i < n; ++i) mean += b[i] - a[i];
  mean /= static_cast<double>(n);
  double ss = 0;
  for (size_t i = 0; i < n; ++i) {
    const double d = b[i] - a[i] - mean;
    ss += d * d;
  }
  const double sd = std::sqrt(ss / static_cast<double>(n - 1));
  if (sd == 0) {
    // Every difference equal: no difference at all gives t = 0, p = 1; a constant non-zero shift is certain.
    r.t = mean == 0 ? 0 : std::copysign(std::numeric_limits<double>::infinity(), mean);
    r.p = mean == 0 ? 1 : 0;
    return r;
  }
  r.t = mean / (sd / std::sqrt(static_cast<double>(n)));
  r.p = incomplete_beta(r.df / 2, 0.5, r.df / (r.df + r.t * r.t));  // = 2 * P(T > |t|)
  return r;
}

double randomization_test(const std::vector<double>& a, const std::vector<double>& b, size_t permutations, uint64_t seed) {
  if (a.size() != b.size()) throw InputError("randomization test: the two samples have different sizes");
  const size_t n = a.size();
  if (n == 0 || permutations == 0) return std::numeric_limits<double>::quiet_NaN();
  std::vector<double> d(n);
  double observed = 0;
  for (size_t i = 0; i < n; ++i) observed += (d[i] = b[i] - a[i]);
  observed = std::fabs(observed);
  // Sums compared with a relative tolerance so that a permutation equal to the observed sum up to rounding counts.
  const double tol = 1e-12 * std::max(1.0, observed);
  std::mt19937_64 rng(seed);
  size_t at_least = 0;
  for (size_t p = 0; p < permutations; ++p) {
    double s = 0;
    uint64_t bits = 0;
    for (size_t i = 0; i < n; ++i) {
      if (i % 64 == 0) bits = rng();
      s += (bits & 1) ? -d[i] : d[i];
      bits >>= 1;
    }
    if (std::fabs(s) >= observed - tol) ++at_least;
  }
  return static_cast<double>(at_least + 1) / static_cast<double>(permutations + 1);
}

Comparison compare(const Evaluation& a, const Evaluation& b, size_t metric, size_t permutations, uint64_t seed) {
  if (metric >= a.metrics.size() || metric >= b.metrics.size() || a.metrics[metric].name != b.metrics[metric].name)
    throw InputError("compare: the evaluations do not share metric #" + std::to_string(metric));
  Comparison c;
  c.metric = a.metrics[metric].name;
  std::map<std::string, std::pair<double, double>, QueryIdLess> paired;  // union of queries; missing = 0
  for (size_t i = 0; i < a.query_ids.size(); ++i) paired[a.query_ids[i]].first = a.values[metric][i];
  for (size_t i = 0; i < b.query_ids.size(); ++i) paired[b.query_ids[i]].second = b.values[metric][i];
  std::vector<double> va, vb;
  for (const auto& [qid, v] : paired) {
    c.query_ids.push_back(qid);
    va.push_back(v.first);
    vb.push_back(v.second);
    const double d = v.second - v.first;
    c.deltas.push_back(d);
    if (std::fabs(d) <= 1e-12) ++c.ties;
    else if (d > 0) ++c.wins;
    else ++c.losses;
  }
  c.n = va.size();
  for (size_t i = 0; i < c.n; ++i) {
    c.mean_a += va[i];
    c.mean_b += vb[i];
  }
  if (c.n) {
    c.mean_a /= static_cast<double>(c.n);
    c.mean_b /= static_cast<double>(c.n);
  }
  c.diff = c.mean_b - c.mean_a;
  c.ttest = paired_t_test(va, vb);
  c.p_randomization = randomization_test(va, vb, permutations, seed);
  return c;
}

}  // namespace rerank::eval

// Postings compression (varint deltas) and BM25 top-k with MaxScore (Turtle & Flood 1995): terms sorted by
// their score upper bound; the lowest-bound terms whose bounds together cannot beat the current k-th score are
// "non-essential" and only probed (galloping seek) for documents an essential term brings up.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <queue>

#include "index/postings.hpp"
#include "rerank/error.hpp"

namespace rerank::index {
namespace {

constexpr unsigned char kCodec = 1;

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

bool get_varint(std::string_view s, size_t& i, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (i >= s.size()) return false;
    unsigned char b = static_cast<unsigned char>(s[i++]);
    v |= static_cast<uint64_t>(b & 0x7F) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

inline float score_of(float weight, uint32_t tf, float norm_inv) {
  return weight - weight / (1.0f + static_cast<float>(tf) * norm_inv);  // Lucene 9 BM25Scorer.score
}

struct Heap {
  size_t k;
  std::vector<Scored> h;  // min-heap by (score, -doc)
  static bool worse(const Scored& a, const Scored& b) {  // a ranks below b
    return a.score < b.score || (a.score == b.score && a.doc > b.doc);
  }
  void offer(uint32_t doc, float s) {
    if (h.size() < k) {
      h.push_back({doc, s});
      std::push_heap(h.begin(), h.end(), [](const Scored& a, const Scored& b) { return worse(b, a); });
    } else if (worse(h.front(), Scored{doc, s})) {
      std::pop_heap(h.begin(), h.end(), [](const Scored& a, const Scored& b) { return worse(b, a); });
      h.back() = {doc, s};
      std::push_heap(h.begin(), h.end(), [](const Scored& a, const Scored& b) { return worse(b, a); });
    }
  }
  float threshold() const { return h.size() < k ? -1.0f : h.front().score; }
  std::vector<Scored> sorted() {
    std::sort(h.begin(), h.end(), [](const Scored& a, const Scored& b) { return worse(b, a); });
    return std::move(h);
  }
};

}  // namespace

std::string encode_postings(const std::vector<std::pair<int64_t, uint32_t>>& postings) {
  std::string out;
  out.reserve(postings.size() * 3 + 8);
  out.push_back(static_cast<char>(kCodec));
  put_varint(out, postings.size());
  int64_t prev = 0;
  for (const auto& [key, tf] : postings) {
    put_varint(out, static_cast<uint64_t>(key - prev));
    put_varint(out, tf);
    prev = key;
  }
  return out;
}

void decode_postings(std::string_view blob, const std::string& what, const std::function<void(int64_t, uint32_t)>& on) {
  if (blob.empty() || static_cast<unsigned char>(blob[0]) != kCodec)
    throw Error(what + ": corrupt postings (unknown codec)");
  size_t i = 1;
  uint64_t n, d, tf;
  if (!get_varint(blob, i, n)) throw Error(what + ": corrupt postings (count)");
  int64_t key = 0;
  for (uint64_t j = 0; j < n; ++j) {
    if (!get_varint(blob, i, d) || !get_varint(blob, i, tf)) throw Error(what + ": corrupt postings (truncated)");
    key += static_cast<int64_t>(d);
    on(key, static_cast<uint32_t>(tf));
  }
  if (i != blob.size()) throw Error(what + ": corrupt postings (trailing bytes)");
}

float bm25_idf(uint64_t doc_count, uint64_t df) {
  return static_cast<float>(std::log(1.0 + (static_cast<double>(doc_count) - static_cast<double>(df) + 0.5) /
                                               (static_cast<double>(df) + 0.5)));
}

std::vector<Scored> bm25_exhaustive(const std::vector<QueryTerm>& terms, const std::vector<float>& norm_inv, size_t k) {
  std::vector<float> acc(norm_inv.size(), 0.0f);
  std::vector<char> seen(norm_inv.size(), 0);
  for (const auto& t : terms)
    for (size_t i = 0; i < t.list->docs.size(); ++i) {
      uint32_t d = t.list->docs[i];
      acc[d] += score_of(t.weight, t.list->tfs[i], norm_inv[d]);
      seen[d] = 1;
    }
  Heap heap{k, {}};
  if (k == 0) return {};
  for (uint32_t d = 0; d < acc.size(); ++d)
    if (seen[d]) heap.offer(d, acc[d]);
  return heap.sorted();
}

std::vector<Scored> bm25_top_k(const std::vector<QueryTerm>& terms_in, const std::vector<float>& norm_inv, size_t k) {
  if (k == 0) return {};
  // Per-term upper bounds: the best score any posting of the term reaches.
  struct T {
    const PostingList* l;
    float w, ub;
    size_t pos = 0;
  };
  std::vector<T> t;
  for (const auto& q : terms_in) {
    if (!q.list || q.list->docs.empty()) continue;
    float ub = 0;
    for (size_t i = 0; i < q.list->docs.size(); ++i) ub = std::max(ub, score_of(q.weight, q.list->tfs[i], norm_inv[q.list->docs[i]]));
    t.push_back({q.list, q.weight, ub});
  }
  std::sort(t.begin(), t.end(), [](const T& a, const T& b) { return a.ub < b.ub; });
  const size_t m = t.size();
  std::vector<double> prefix(m);  // prefix[i] = sum of ub[0..i], padded so rounding never prunes a real hit
  double s = 0;
  for (size_t i = 0; i < m; ++i) prefix[i] = (s += t[i].ub) * (1 + 1e-6) + 1e-6;

  constexpr uint32_t kEnd = std::numeric_limits<uint32_t>::max();
  auto cur = [&](const T& x) { return x.pos < x.l->docs.size() ? x.l->docs[x.pos] : kEnd; };
  auto seek = [&](T& x, uint32_t target) {  // galloping search to the first doc >= target
    const auto& d = x.l->docs;
    size_t lo = x.pos, step = 1, hi = lo;
    while (hi < d.size() && d[hi] < target) {
      lo = hi;
      hi += step;
      step <<= 1;
    }
    hi = std::min(hi, d.size());
    x.pos = static_cast<size_t>(std::lower_bound(d.begin() + lo, d.begin() + hi, target) - d.begin());
  };

  Heap heap{k, {}};
  size_t first_essential = 0;
  while (true) {
    float theta = heap.threshold();
    while (first_essential < m && theta >= 0 && prefix[first_essential] <= theta) ++first_essential;
    if (first_essential >= m) break;
    uint32_t d = kEnd;
    for (size_t i = first_essential; i < m; ++i) d = std::min(d, cur(t[i]));
    if (d == kEnd) break;
    float score = 0;
    for (size_t i = first_essential; i < m; ++i)
      if (cur(t[i]) == d) {
        score += score_of(t[i].w, t[i].l->tfs[t[i].pos], norm_inv[d]);
        ++t[i].pos;
      }
    for (size_t i = first_essential; i-- > 0;) {
      if (theta >= 0 && score + prefix[i] <= theta) break;
      seek(t[i], d);
      if (cur(t[i]) == d) score += score_of(t[i].w, t[i].l->tfs[t[i].pos], norm_inv[d]);
    }
    heap.offer(d, score);
  }
  return heap.sorted();
}

}  // namespace rerank::index

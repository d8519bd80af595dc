// BM25 postings: the compressed on-disk form (varint-delta blobs) and the in-memory top-k search (MaxScore).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "rerank/index.hpp"

namespace rerank::index {

/// One term's postings in memory: ascending passage ordinals and their term frequencies.
struct PostingList {
  std::vector<uint32_t> docs;
  std::vector<uint32_t> tfs;
};

/// Encodes (key, tf) pairs with ascending keys: a codec byte, varint count, then varint key deltas and tfs.
std::string encode_postings(const std::vector<std::pair<int64_t, uint32_t>>& postings);
/// Decodes a blob; calls `on(key, tf)` in order. Throws Error("<what>: corrupt postings") on malformed data.
void decode_postings(std::string_view blob, const std::string& what, const std::function<void(int64_t, uint32_t)>& on);

struct QueryTerm {
  const PostingList* list;
  float weight;  ///< boost * idf
};

struct Scored {
  uint32_t doc;
  float score;
};

/// BM25 top-k by MaxScore. `norm_inv[doc]` = 1 / (k1 * (1 - b + b * len / avgdl)); deleted docs never appear in
/// the lists. Result sorted by score descending, then doc ascending (Lucene's tie order).
std::vector<Scored> bm25_top_k(const std::vector<QueryTerm>& terms, const std::vector<float>& norm_inv, size_t k);
/// The same by scoring every posting (reference for tests).
std::vector<Scored> bm25_exhaustive(const std::vector<QueryTerm>& terms, const std::vector<float>& norm_inv, size_t k);

/// Lucene's BM25 idf: ln(1 + (N - df + 0.5) / (df + 0.5)).
float bm25_idf(uint64_t doc_count, uint64_t df);

}  // namespace rerank::index

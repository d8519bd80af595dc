// Nearest-neighbour search over a collection's passage embeddings: exact (one BLAS sgemv over the L2-normalised
// matrix, so cosine = dot product) or FAISS HNSW (inner product), the HNSW graph cached in a file with a magic,
// a version and a fingerprint of the passages it covers.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "index/postings.hpp"

namespace rerank::index {

class VectorIndex {
 public:
  /// `matrix`: rows x dim floats, row = passage ordinal; rows with live[row] == 0 never match.
  /// kind: "exact" or "hnsw". For hnsw, `cache_file` (may be empty) holds the graph for `fingerprint`.
  VectorIndex(size_t dim, std::vector<float> matrix, std::vector<char> live, const std::string& kind,
              const std::filesystem::path& cache_file, uint64_t fingerprint);
  ~VectorIndex();
  /// Top-k rows by inner product with `q` (dim floats), best first (ties: lower row first).
  std::vector<Scored> search(const float* q, size_t k) const;
  const std::string& kind() const { return kind_; }

 private:
  size_t dim_, rows_;
  std::vector<float> m_;
  std::vector<char> live_;
  std::string kind_;
  struct Hnsw;
  std::unique_ptr<Hnsw> hnsw_;
};

/// L2-normalises `v` in place (a zero vector stays zero).
void normalize(std::vector<float>& v);

}  // namespace rerank::index

// Exact and HNSW vector search (see vectors.hpp).
#include "index/vectors.hpp"

#include <cblas.h>
#include <faiss/IndexHNSW.h>
#include <faiss/index_io.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "rerank/error.hpp"

namespace rerank::index {
namespace {
constexpr char kMagic[8] = {'R', 'R', 'K', 'H', 'N', 'S', 'W', '\0'};
constexpr uint32_t kVersion = 1;
constexpr int kM = 32;
}  // namespace

struct VectorIndex::Hnsw {
  std::unique_ptr<faiss::Index> index;
  std::vector<uint32_t> label_to_row;
};

void normalize(std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += static_cast<double>(x) * x;
  if (s <= 0) return;
  float inv = static_cast<float>(1.0 / std::sqrt(s));
  for (float& x : v) x *= inv;
}

VectorIndex::VectorIndex(size_t dim, std::vector<float> matrix, std::vector<char> live, const std::string& kind,
                         const std::filesystem::path& cache_file, uint64_t fingerprint)
    : dim_(dim), rows_(dim ? matrix.size() / dim : 0), m_(std::move(matrix)), live_(std::move(live)), kind_(kind) {
  if (kind_ != "hnsw") {
    kind_ = "exact";
    return;
  }
  hnsw_ = std::make_unique<Hnsw>();
  // a cached graph for exactly these passages?
  if (!cache_file.empty()) {
    if (FILE* f = std::fopen(cache_file.c_str(), "rb")) {
      char magic[8];
      uint32_t version = 0;
      uint64_t fp = 0, n = 0;
      bool ok = std::fread(magic, 1, 8, f) == 8 && std::memcmp(magic, kMagic, 8) == 0 && std::fread(&version, 4, 1, f) == 1 &&
                version == kVersion && std::fread(&fp, 8, 1, f) == 1 && fp == fingerprint && std::fread(&n, 8, 1, f) == 1;
      if (ok) {
        hnsw_->label_to_row.resize(n);
        ok = std::fread(hnsw_->label_to_row.data(), 4, n, f) == n;
      }
      if (ok) {
        try {
          hnsw_->index.reset(faiss::read_index(f));
        } catch (const std::exception&) {
          hnsw_->index.reset();
        }
      }
      std::fclose(f);
      if (hnsw_->index && static_cast<size_t>(hnsw_->index->d) == dim_) return;
      hnsw_->index.reset();
    }
  }
  auto idx = std::make_unique<faiss::IndexHNSWFlat>(static_cast<int>(dim_), kM, faiss::METRIC_INNER_PRODUCT);
  idx->hnsw.efConstruction = 200;
  std::vector<float> packed;
  hnsw_->label_to_row.clear();
  for (size_t r = 0; r < rows_; ++r)
    if (live_[r]) {
      hnsw_->label_to_row.push_back(static_cast<uint32_t>(r));
      packed.insert(packed.end(), m_.begin() + static_cast<ptrdiff_t>(r * dim_), m_.begin() + static_cast<ptrdiff_t>((r + 1) * dim_));
    }
  if (!hnsw_->label_to_row.empty()) idx->add(static_cast<faiss::Index::idx_t>(hnsw_->label_to_row.size()), packed.data());
  hnsw_->index = std::move(idx);
  if (cache_file.empty()) return;
  std::filesystem::path tmp = cache_file;
  tmp += ".tmp";
  if (FILE* f = std::fopen(tmp.c_str(), "wb")) {
    uint64_t n = hnsw_->label_to_row.size();
    bool ok = std::fwrite(kMagic, 1, 8, f) == 8 && std::fwrite(&kVersion, 4, 1, f) == 1 && std::fwrite(&fingerprint, 8, 1, f) == 1 &&
              std::fwrite(&n, 8, 1, f) == 1 && std::fwrite(hnsw_->label_to_row.data(), 4, n, f) == n;
    try {
      if (ok) faiss::write_index(hnsw_->index.get(), f);
    } catch (const std::exception&) {
      ok = false;
    }
    ok = std::fclose(f) == 0 && ok;
    std::error_code ec;
    if (ok) std::filesystem::rename(tmp, cache_file, ec);
    else std::filesystem::remove(tmp, ec);  // the cache is an optimisation: failing to write it is not an error
  }
}

VectorIndex::~VectorIndex() = default;

std::vector<Scored> VectorIndex::search(const float* q, size_t k) const {
  std::vector<Scored> out;
  if (k == 0 || rows_ == 0) return out;
  auto better = [](const Scored& a, const Scored& b) { return a.score > b.score || (a.score == b.score && a.doc < b.doc); };
  if (hnsw_) {
    auto* h = dynamic_cast<faiss::IndexHNSW*>(hnsw_->index.get());
    size_t n = hnsw_->label_to_row.size();
    size_t kk = std::min(k, n);
    if (kk == 0) return out;
    faiss::SearchParametersHNSW params;
    params.efSearch = static_cast<int>(std::max<size_t>(kk * 2, 128));
    std::vector<float> d(kk);
    std::vector<faiss::Index::idx_t> l(kk);
    h->search(1, q, static_cast<faiss::Index::idx_t>(kk), d.data(), l.data(), &params);
    for (size_t i = 0; i < kk; ++i)
      if (l[i] >= 0) out.push_back({hnsw_->label_to_row[static_cast<size_t>(l[i])], d[i]});
    std::stable_sort(out.begin(), out.end(), better);
    return out;
  }
  std::vector<float> s(rows_);
  cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(rows_), static_cast<int>(dim_), 1.0f, m_.data(),
              static_cast<int>(dim_), q, 1, 0.0f, s.data(), 1);
  out.reserve(rows_);
  for (size_t r = 0; r < rows_; ++r)
    if (live_[r]) out.push_back({static_cast<uint32_t>(r), s[r]});
  size_t kk = std::min(k, out.size());
  std::partial_sort(out.begin(), out.begin() + static_cast<ptrdiff_t>(kk), out.end(), better);
  out.resize(kk);
  return out;
}

}  // namespace rerank::index

// Collection search: BM25 over the postings (Lucene's formula and norms), dense over the stored embeddings,
// both per passage and per document (best passage).
#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <unordered_set>

#include "collection/collection_impl.hpp"
#include "rerank/error.hpp"

namespace rerank {

const std::vector<float>& Collection::Impl::norms() {
  if (!norms_dirty) return norm_inv;
  // Lucene: avgdl = sumTotalTermFreq / docCount; cache[b] = k1 * ((1 - b) + b * LENGTH_TABLE[b] / avgdl).
  const float k1 = options.bm25.k1, b = options.bm25.b;
  float avgdl = live_nonempty ? static_cast<float>(static_cast<double>(sum_length) / static_cast<double>(live_nonempty)) : 1.0f;
  float table[256];
  for (int i = 0; i < 256; ++i)
    table[i] = 1.0f / (k1 * ((1 - b) + b * static_cast<float>(lucene_byte_to_length(static_cast<unsigned char>(i))) / avgdl));
  norm_inv.resize(length.size());
  for (size_t o = 0; o < length.size(); ++o)
    norm_inv[o] = options.bm25.lucene_lengths ? table[lucene_length_to_byte(length[o])]
                                              : 1.0f / (k1 * ((1 - b) + b * static_cast<float>(length[o]) / avgdl));
  norms_dirty = false;
  return norm_inv;
}

const index::PostingList& Collection::Impl::postings(const std::string& term) {
  auto it = cache.find(term);
  if (it != cache.end()) return it->second;
  if (cache.size() > 200000) cache.clear();
  index::PostingList list;
  if (!postings_stmt) postings_stmt = std::make_unique<sql::Stmt>(db, "SELECT data FROM postings WHERE term = ? ORDER BY seg");
  sql::Stmt& s = *postings_stmt;
  s.bind(1, term);
  struct Reset {
    sql::Stmt& s;
    ~Reset() { s.reset(); }
  } reset{s};
  while (s.step())
    index::decode_postings(s.blob(0), db.file() + ": term \"" + term + "\"", [&](int64_t p, uint32_t tf) {
      auto o = ord_of_pid.find(p);
      if (o == ord_of_pid.end() || !live[o->second]) return;
      list.docs.push_back(o->second);
      list.tfs.push_back(tf);
    });
  return cache.emplace(term, std::move(list)).first->second;
}

namespace {

/// Passage hits -> hits (per passage, or per document keeping its best passage), at most k.
std::vector<Hit> to_hits(const Collection::Impl& m, const std::vector<index::Scored>& scored, size_t k, bool per_passage) {
  std::vector<Hit> out;
  std::unordered_set<int64_t> docs;
  for (const auto& s : scored) {
    if (out.size() >= k) break;
    int64_t d = m.did[s.doc];
    if (!per_passage && !docs.insert(d).second) continue;
    auto id = m.doc_id.find(d);
    out.push_back({id == m.doc_id.end() ? std::string() : id->second, m.pid[s.doc], m.ord_in_doc[s.doc], s.score});
  }
  return out;
}

/// Runs `search(depth)` with growing depth until k distinct documents are found or the passages run out.
std::vector<Hit> top_documents(const Collection::Impl& m, size_t k, bool per_passage,
                               const std::function<std::vector<index::Scored>(size_t)>& search) {
  if (k == 0) return {};
  size_t depth = per_passage ? k : k + k / 2 + 4;
  while (true) {
    auto scored = search(depth);
    auto hits = to_hits(m, scored, k, per_passage);
    if (hits.size() >= k || scored.size() < depth || depth >= m.live_count) return hits;
    depth *= 4;
  }
}

}  // namespace

std::vector<Hit> Collection::search_bm25(const std::string& query, size_t k, bool per_passage) {
  Impl& m = *impl_;
  m.refresh();
  std::map<std::string, int> counts;  // Anserini's bag of words: a repeated term is boosted by its count
  for (auto& t : m.analyzer.analyze(query)) ++counts[t];
  const auto& norm_inv = m.norms();
  std::vector<index::QueryTerm> terms;
  for (const auto& [term, n] : counts) {
    const index::PostingList& l = m.postings(term);
    if (l.docs.empty()) continue;
    terms.push_back({&l, static_cast<float>(n) * index::bm25_idf(m.live_nonempty, l.docs.size())});
  }
  if (terms.empty()) return {};
  return top_documents(m, k, per_passage, [&](size_t depth) { return index::bm25_top_k(terms, norm_inv, depth); });
}

std::vector<Hit> Collection::search_dense(const std::string& query, size_t k, bool per_passage) {
  Impl& m = *impl_;
  if (!m.embedder)
    throw InputError("dense search in " + m.dir.string() + " needs an embedder" +
                     (m.embedder_identity.empty() ? std::string(" (the collection has no embeddings: index it with --bi-encoder)")
                                                  : " (it was embedded with " + m.embedder_identity + ")"));
  auto v = m.embedder->embed({query}, EmbedKind::Query);
  return search_dense(v.at(0), k, per_passage);
}

std::vector<Hit> Collection::search_dense(const std::vector<float>& query_vector, size_t k, bool per_passage) {
  Impl& m = *impl_;
  m.refresh();
  if (m.dim == 0) throw InputError("collection " + m.dir.string() + " has no embeddings (index it with --bi-encoder)");
  if (query_vector.size() != m.dim)
    throw InputError("query vector of dimension " + std::to_string(query_vector.size()) + ", the collection's is " + std::to_string(m.dim));
  if (!m.vectors) {
    std::vector<float> mat(m.pid.size() * m.dim, 0.0f);
    std::vector<char> live = m.live;
    sql::Stmt s(m.db, "SELECT pid, embedding FROM passages");
    while (s.step()) {
      auto o = m.ord_of_pid.find(s.i64(0));
      if (o == m.ord_of_pid.end()) continue;
      std::string_view b = s.blob(1);
      if (b.size() != m.dim * sizeof(float)) {
        live[o->second] = 0;  // a passage without an embedding (should not happen) never matches
        continue;
      }
      std::memcpy(mat.data() + static_cast<size_t>(o->second) * m.dim, b.data(), b.size());
    }
    std::string kind = m.options.vector_index;
    if (kind == "auto") kind = m.live_count > m.options.hnsw_threshold ? "hnsw" : "exact";
    uint64_t fp = 1469598103934665603ULL;  // FNV-1a over the live pids
    for (size_t o = 0; o < m.pid.size(); ++o)
      if (live[o]) fp = (fp ^ static_cast<uint64_t>(m.pid[o])) * 1099511628211ULL;
    m.vectors = std::make_unique<index::VectorIndex>(m.dim, std::move(mat), std::move(live), kind, m.dir / "vectors.hnsw", fp);
  }
  std::vector<float> q = query_vector;
  index::normalize(q);
  return top_documents(m, k, per_passage, [&](size_t depth) { return m.vectors->search(q.data(), depth); });
}

std::string Collection::vector_index_kind() const {
  const Impl& m = *impl_;
  if (m.vectors) return m.vectors->kind();
  if (m.options.vector_index != "auto") return m.options.vector_index;
  return m.live_count > m.options.hnsw_threshold ? "hnsw" : "exact";
}

}  // namespace rerank

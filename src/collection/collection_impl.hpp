// Collection internals shared by collection.cpp (storage, add/remove) and search.cpp (BM25 and dense search).
//
// On disk (collection.sqlite, WAL):
//   meta(key, value)            magic, format_version, bm25/chunk settings, embedder identity and dimension
//   documents(did, id, title, text, metadata)
//   passages(pid AUTOINCREMENT, did, ord, start, end, length, embedding)   length = analyzed tokens
//   postings(term, seg, data)   one varint-delta blob of (pid, tf) per term and ingestion batch (segment)
// Deleting a document deletes its passages; postings of deleted passages are skipped when read and dropped by
// optimize(). In memory: the live passages (pid order = ordinal order), their lengths and document ids, and a
// cache of decoded postings; reloaded when another connection changed the database (PRAGMA data_version).
#pragma once
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "collection/sqlite.hpp"
#include "index/postings.hpp"
#include "index/vectors.hpp"
#include "rerank/collection.hpp"

namespace rerank {

struct Collection::Impl {
  std::filesystem::path dir;
  sql::Db db;
  CollectionOptions options;  // bm25, stemmer, chunking as stored; vector_index from the caller
  Analyzer analyzer;
  std::shared_ptr<Embedder> embedder;
  std::string embedder_identity;  // as stored ("" = none yet)
  size_t dim = 0;
  size_t chunk_size = 0, chunk_overlap = 0;  // 0 until the first add resolves them
  std::string chunk_unit;                    // "words" or "model"
  int64_t data_version = -1;

  // live passages, ordinal-indexed (ascending pid)
  std::vector<int64_t> pid, did;
  std::vector<uint32_t> ord_in_doc, length;
  std::vector<char> live;
  std::unordered_map<int64_t, uint32_t> ord_of_pid;
  std::unordered_map<int64_t, std::string> doc_id;  // did -> external id
  uint64_t live_count = 0, live_nonempty = 0, sum_length = 0;
  std::vector<float> norm_inv;
  bool norms_dirty = true;
  std::unordered_map<std::string, index::PostingList> cache;
  std::unique_ptr<index::VectorIndex> vectors;
  std::unique_ptr<sql::Stmt> postings_stmt;  // prepared once

  explicit Impl(const std::string& stemmer) : analyzer(stemmer) {}

  void load_meta();
  void load_passages();                 // (re)reads the passage table
  void refresh();                       // reload when another connection wrote
  void mark_written();                  // after our own commit
  const std::vector<float>& norms();
  const index::PostingList& postings(const std::string& term);
  void append_passage(int64_t p, int64_t d, uint32_t ord, uint32_t len);
  void kill_passage(int64_t p);
  std::string meta(const std::string& key, const std::string& fallback = "");
  /// A passage's text ("title chunk") with `s` prepared from kPassageTextSql (on any connection).
  static const char* const kPassageTextSql;
  static std::string passage_text(sql::Stmt& s, int64_t passage, const std::filesystem::path& dir);
  void set_meta(const std::string& key, const std::string& value);
};

}  // namespace rerank

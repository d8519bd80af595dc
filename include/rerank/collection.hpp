// rerank/collection.hpp — a persistent, crash-safe document collection with a BM25 and a vector index.
//
//   auto c = rerank::Collection::open_or_create("my-collection");
//   c.add({{.id = "d1", .title = "Passwords", .text = "Click Forgot Password on the login page."}});
//   for (auto& h : c.search_bm25("reset password", 10)) std::cout << h.doc_id << " " << h.score << "\n";
//
//   rerank::read_documents("corpus.jsonl.gz", [&](std::vector<rerank::Document>& batch, const rerank::ReadProgress&) {
//     c.add(batch);                                        // one SQLite transaction per batch
//   });
//
// A collection is a directory holding `collection.sqlite` (SQLite in WAL mode): documents, passages, BM25 postings
// (varint-delta compressed, one segment per ingestion batch, merged by optimize()) and passage embeddings. Every
// add()/remove() is one transaction, so a crash or kill -9 loses nothing committed and leaves a usable collection.
// The database carries a magic (application_id and a meta row) and a format version checked on open.
//
// Chunking: a document longer than the window is split into passages of at most `chunk.size` tokens with
// `chunk.overlap` tokens of overlap, on sentence boundaries where possible; each passage is "title + ' ' + chunk"
// and remembers its document. Tokens are the embedder's (when the collection has one), else whitespace words.
// Search results are per document (its best passage) by default, per passage on request.
//
// Thread safety: a Collection is NOT thread-safe; use one per thread (each opens its own SQLite connection).
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rerank/index.hpp"

namespace rerank {

struct Document {
  std::string id;
  std::string title;
  std::string text;
  std::string metadata;  ///< JSON text, or empty
};

struct ChunkOptions {
  size_t size = 0;     ///< content tokens per passage; 0 = automatic (embedder window, else 512 words)
  size_t overlap = 0;  ///< tokens shared by consecutive passages; 0 = automatic (size / 8)
  bool disabled = false;  ///< never split documents
};

/// Options fixed when a collection is created (stored in it; later opens use the stored ones).
struct CollectionOptions {
  ChunkOptions chunk;
  Bm25Params bm25;
  std::string stemmer = "porter";
  /// "exact", "hnsw" or "auto" (exact up to `hnsw_threshold` passages). Changeable on every open.
  std::string vector_index = "auto";
  size_t hnsw_threshold = 50000;
};

enum class AddMode { SkipExisting, Replace };

struct AddResult {
  size_t added = 0, replaced = 0, skipped = 0, passages = 0;
};

/// An id given more than once in `docs` resolves as it does across batches: SkipExisting keeps its first
/// occurrence (the later ones are "already present"), Replace keeps its last (each later one replaces the one
/// before). Removes the others from `docs`, keeping the order of the rest; returns how many it removed, which
/// the adders count as skipped (SkipExisting) or replaced (Replace). So a stream's outcome does not depend on
/// where its batches end. Empty ids are left for the adders to reject.
size_t resolve_repeated_ids(std::vector<Document>& docs, AddMode mode);
/// The same for a batch the caller cannot change: `docs` itself when no id repeats (no copy), else a resolved copy
/// held in `storage`; `repeated` receives how many were left out.
const std::vector<Document>& resolve_repeated_ids(const std::vector<Document>& docs, AddMode mode,
                                                  std::vector<Document>& storage, size_t& repeated);

struct ReadProgress {
  uint64_t bytes_read = 0;   ///< of the (compressed) file
  uint64_t bytes_total = 0;  ///< file size
  size_t documents = 0;
};

struct Hit {
  std::string doc_id;
  int64_t passage = 0;        ///< passage key in the collection
  size_t passage_index = 0;   ///< 0-based position of the passage within its document
  float score = 0;
};

struct CollectionStats {
  size_t documents = 0, passages = 0, terms = 0, segments = 0;
  double avg_passage_length = 0;  ///< analyzed tokens
  size_t embedding_dim = 0;       ///< 0 when the collection has no embeddings
  std::string embedder;           ///< identity of the embedder the passages were embedded with
  size_t chunk_size = 0, chunk_overlap = 0;
  int format_version = 0;
};

class Collection {
 public:
  static constexpr int kFormatVersion = 1;

  /// Opens an existing collection. Throws Error when the directory holds none, or one of another format version.
  static Collection open(const std::filesystem::path& dir, const CollectionOptions& runtime = {});
  /// Opens the collection in `dir`, creating it (and the directory) with `options` when there is none.
  static Collection open_or_create(const std::filesystem::path& dir, const CollectionOptions& options = {});

  ~Collection();
  Collection(Collection&&) noexcept;
  Collection& operator=(Collection&&) noexcept;

  /// The embedder passages are embedded with on add() and queries on search_dense(). The first add() with an
  /// embedder records its identity; a different embedder later is an error.
  void set_embedder(std::shared_ptr<Embedder> embedder);
  std::shared_ptr<Embedder> embedder() const;

  /// Adds a batch in one transaction. Ids already present are skipped (SkipExisting) or replaced (Replace); an id
  /// repeated within the batch resolves the same way (resolve_repeated_ids). Throws InputError for an empty id.
  AddResult add(const std::vector<Document>& docs, AddMode mode = AddMode::SkipExisting);
  /// What add_batches' source calls once per batch (read_documents' callback has this type).
  using BatchSink = std::function<void(std::vector<Document>&, const ReadProgress&)>;
  /// Adds the batches `source` produces, each in one transaction as add() does, pipelined: a second thread runs
  /// `source` and prepares the next batch (chunking, BM25 analysis, tokenizing) while the current one is embedded
  /// and written; at most two prepared batches wait, so memory stays bounded. Passages are stored in input order;
  /// the embedder sees each batch's passages longest first. `on_commit(result, progress)` runs after each commit
  /// with the source's progress for that batch. An exception from `source` (a malformed line) is thrown after every
  /// batch before it was committed; one from the embedder, the database or `on_commit` stops the source. Either
  /// way the collection holds whole batches, as after the same sequence of add() calls. Returns the totals.
  AddResult add_batches(const std::function<void(const BatchSink&)>& source, AddMode mode = AddMode::SkipExisting,
                        const std::function<void(const AddResult&, const ReadProgress&)>& on_commit = {});
  /// Embeds the passages that have no embedding yet (a collection first indexed without a bi-encoder, or an
  /// interrupted backfill) with the embedder set by set_embedder(), `batch` passages per transaction, so an
  /// interrupted run keeps what it committed and resumes; the next batch is read and tokenized on a second thread. Records the embedder on the first batch. Returns the
  /// number embedded; `progress(done, total)` after each batch. Throws InputError without an embedder.
  size_t embed_missing(size_t batch = 256, const std::function<void(size_t, size_t)>& progress = {});
  /// Passages without an embedding.
  size_t missing_embeddings() const;
  /// Deletes documents (one transaction); returns how many existed.
  size_t remove(const std::vector<std::string>& ids);
  std::optional<Document> get(const std::string& id) const;
  bool contains(const std::string& id) const;
  size_t size() const;
  /// The text a model reads for a passage ("title chunk").
  std::string passage_text(int64_t passage) const;
  /// All document ids in insertion order.
  std::vector<std::string> ids() const;
  /// Merges postings segments and drops deleted postings (one transaction).
  void optimize();
  CollectionStats stats() const;
  const std::filesystem::path& directory() const;

  /// BM25 top-k: documents (best passage) or passages. Stop-word-only queries return nothing.
  std::vector<Hit> search_bm25(const std::string& query, size_t k, bool per_passage = false);
  /// Cosine top-k against the stored embeddings (needs an embedder, or a query vector).
  std::vector<Hit> search_dense(const std::string& query, size_t k, bool per_passage = false);
  std::vector<Hit> search_dense(const std::vector<float>& query_vector, size_t k, bool per_passage = false);
  /// "exact" or "hnsw": what search_dense uses now.
  std::string vector_index_kind() const;

  struct Impl;

 private:
  explicit Collection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// ---- ingestion -------------------------------------------------------------------------------------------

enum class DocumentFormat { Auto, JsonLines, Csv, Tsv, Text, Smart, Trec };

/// Reads documents from a file in batches of `batch` and calls `on_batch`:
///  - JSON lines (.jsonl/.json/.ndjson, optionally .gz): `_id` or `id`, `text`, optional `title`, `metadata`;
///  - CSV/TSV (.csv/.tsv): a header row with `id` (or `_id`/`docid`) and `text` columns, optional `title`; RFC 4180
///    quoting;
///  - SMART classic collections (.ALL, cran.all.1400, or a file starting with ".I "): `.I id` records with `.T`
///    title, `.W` text (other fields such as `.A`, `.B` kept in metadata); CRLF accepted;
///  - TREC SGML (a file whose first line starts with `<DOC>`, optionally .gz): `<DOC> <DOCNO>id</DOCNO> ... </DOC>`
///    records; text from <TEXT>, <HEADLINE>, <TITLE> and the other elements Anserini's TrecCollection keeps,
///    else the text loose between the tags (see src/collection/trec_reader.hpp);
///  - plain text / Markdown (anything else): the whole file is one document, id = file name.
/// Throws InputError naming the file and line for malformed input.
void read_documents(const std::filesystem::path& file, DocumentFormat format, size_t batch,
                    const std::function<void(std::vector<Document>&, const ReadProgress&)>& on_batch);
DocumentFormat detect_format(const std::filesystem::path& file);
DocumentFormat parse_format(const std::string& name);  ///< auto|jsonl|csv|tsv|text|smart|trec; throws InputError

}  // namespace rerank

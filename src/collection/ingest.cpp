// Adding to a collection: add() (one batch), add_batches() (a pipelined stream of batches) and the embedding
// backfill embed_missing(). A batch is first prepared without the database (ids checked, documents chunked,
// passages analyzed for BM25 and tokenized for the embedder), then committed: which documents are new is decided
// against the database, the new passages are embedded (outside the write transaction, which stays short) and
// everything is written in one transaction. add_batches and embed_missing prepare the next batch on a producer
// thread (collection/prefetch.hpp) while the current one is embedded and committed.
#include <algorithm>
#include <map>
#include <numeric>
#include <optional>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "collection/chunker.hpp"
#include "collection/collection_impl.hpp"
#include "collection/prefetch.hpp"
#include "rerank/error.hpp"

namespace rerank {
namespace fs = std::filesystem;
namespace {

struct Chunking {
  bool by_model = false;  // count the embedder's tokens (else whitespace words)
  size_t size = 0, overlap = 0;
  bool disabled = false;
};

struct PreparedPassage {
  size_t doc;
  uint32_t ord;
  size_t start, end;
  std::vector<std::string> terms;
};

struct PreparedBatch {
  std::vector<Document> owned;        // the documents, when the batch owns them (add_batches)
  const std::vector<Document>* docs = nullptr;
  std::vector<char> known;            // SkipExisting: present when prepared, so skipped without chunking
  std::vector<PreparedPassage> passages;
  std::vector<size_t> first;          // per document, its first passage; docs + 1 entries
  std::unique_ptr<PreparedTexts> texts;  // the passages' texts, tokenized by the embedder (null without one)
  ReadProgress progress;
  size_t repeated = 0;                // add_batches: ids repeated in the input batch, removed by resolve_repeated_ids
};

/// The ids resolve_repeated_ids removed from a batch, counted as across batches.
void count_repeated(AddResult& r, size_t repeated, AddMode mode) {
  (mode == AddMode::SkipExisting ? r.skipped : r.replaced) += repeated;
}

bool has_repeated_ids(const std::vector<Document>& docs) {
  std::unordered_set<std::string_view> seen;
  for (const auto& d : docs)
    if (!d.id.empty() && !seen.insert(d.id).second) return true;
  return false;
}

void check_ids(const std::vector<Document>& docs) {
  std::unordered_set<std::string_view> seen;
  for (const auto& d : docs) {
    if (d.id.empty()) throw InputError("document with an empty id");
    if (!seen.insert(d.id).second) throw std::logic_error("document id \"" + d.id + "\" repeated after resolve_repeated_ids");
  }
}

/// The embedder checks and the chunking settings (resolved in memory on the first add; written by its commit).
Chunking resolve_chunking(Collection::Impl& m) {
  Embedder* emb = m.embedder.get();
  if (!m.embedder_identity.empty() && !emb)
    throw InputError("collection " + m.dir.string() + " stores embeddings from " + m.embedder_identity +
                     ": adding documents needs that embedder (--bi-encoder)");
  if (emb && m.embedder_identity.empty() && m.live_count > 0)
    throw InputError("collection " + m.dir.string() + " was indexed without embeddings: embed its passages first "
                     "(Collection::embed_missing; `rerank index --collection DIR --bi-encoder MODEL` does it)");
  if (m.chunk_unit.empty()) {
    m.chunk_unit = emb ? "model" : "words";
    if (!m.chunk_size) m.chunk_size = emb && emb->window_tokens() ? emb->window_tokens() : 512;
    if (!m.chunk_overlap) m.chunk_overlap = m.chunk_size / 8;
  }
  return {m.chunk_unit == "model" && emb, m.chunk_size, m.chunk_overlap, m.options.chunk.disabled};
}

/// Chunks, analyzes and tokenizes the documents not marked known. No database access: runs on any thread (with
/// its own Analyzer; Embedder::prepare only reads the model).
void prepare(PreparedBatch& b, const Chunking& ck, Analyzer& analyzer, const Embedder* emb) {
  const std::vector<Document>& docs = *b.docs;
  check_ids(docs);
  b.known.resize(docs.size(), 0);
  auto count = [&](std::string_view t) -> size_t { return ck.by_model ? emb->count_tokens(t) : collection::count_words(t); };
  std::vector<std::string> texts;
  b.first.assign(docs.size() + 1, 0);
  for (size_t i = 0; i < docs.size(); ++i) {
    b.first[i] = b.passages.size();
    if (b.known[i]) continue;
    const Document& d = docs[i];
    std::string prefix = d.title.empty() ? "" : d.title + " ";
    std::vector<collection::Chunk> chunks{{0, d.text.size()}};
    if (!ck.disabled && count(prefix + d.text) > ck.size) {
      size_t budget = ck.size - std::min(count(prefix), ck.size / 2);
      chunks = collection::chunk_text(d.text, budget, ck.overlap, count);
    }
    for (size_t c = 0; c < chunks.size(); ++c) {
      std::string text = prefix + d.text.substr(chunks[c].start, chunks[c].end - chunks[c].start);
      b.passages.push_back({i, static_cast<uint32_t>(c), chunks[c].start, chunks[c].end, analyzer.analyze(text)});
      if (emb) texts.push_back(std::move(text));
    }
  }
  b.first[docs.size()] = b.passages.size();
  if (emb) b.texts = emb->prepare(std::move(texts), EmbedKind::Passage);
}

std::vector<std::vector<float>> embed_checked(Embedder& emb, const PreparedTexts& texts, const std::vector<size_t>& items) {
  auto vecs = emb.embed_prepared(texts, items);
  if (vecs.size() != items.size())
    throw Error("embedder returned " + std::to_string(vecs.size()) + " vectors for " + std::to_string(items.size()) + " passages");
  for (auto& v : vecs) {
    if (v.size() != emb.dimension()) throw Error("embedder returned a vector of dimension " + std::to_string(v.size()));
    index::normalize(v);
  }
  return vecs;
}

std::string_view as_blob(const std::vector<float>& v) {
  return {reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)};
}

/// Writes the batch's new documents in one transaction and updates the in-memory view after the commit.
AddResult commit(Collection::Impl& m, PreparedBatch& b, AddMode mode, const Chunking& ck) {
  m.refresh();
  const std::vector<Document>& docs = *b.docs;
  AddResult res;
  std::vector<size_t> todo;  // documents to write
  std::vector<int64_t> replaced_dids;
  {
    sql::Stmt q(m.db, "SELECT did FROM documents WHERE id = ?");
    for (size_t i = 0; i < docs.size(); ++i) {
      if (b.known[i]) {
        ++res.skipped;
        continue;
      }
      q.bind(1, docs[i].id);
      bool exists = q.step();
      int64_t did = exists ? q.i64(0) : 0;
      q.reset();
      if (exists && mode == AddMode::SkipExisting) {  // e.g. added by an earlier batch of the same stream
        ++res.skipped;
        continue;
      }
      if (exists) replaced_dids.push_back(did);
      todo.push_back(i);
    }
  }
  if (todo.empty()) return res;
  std::vector<size_t> items;  // the passages written, in input order
  for (size_t i : todo)
    for (size_t j = b.first[i]; j < b.first[i + 1]; ++j) items.push_back(j);
  Embedder* emb = m.embedder.get();
  std::vector<std::vector<float>> vecs;
  if (emb) vecs = embed_checked(*emb, *b.texts, items);

  std::vector<int64_t> dead;
  std::vector<std::tuple<int64_t, int64_t, uint32_t, uint32_t>> added;  // pid, did, ord, length
  std::vector<std::pair<int64_t, std::string>> new_docs;
  {
    sql::Transaction t(m.db);
    if (m.meta("chunk.unit").empty()) {
      m.set_meta("chunk.size", std::to_string(ck.size));
      m.set_meta("chunk.overlap", std::to_string(ck.overlap));
      m.set_meta("chunk.unit", ck.by_model ? "model" : "words");
    }
    if (emb && m.embedder_identity.empty()) {
      m.set_meta("embedder", emb->identity());
      m.set_meta("embedding.dim", std::to_string(emb->dimension()));
    }
    sql::Stmt dp(m.db, "SELECT pid FROM passages WHERE did = ?");
    sql::Stmt del_p(m.db, "DELETE FROM passages WHERE did = ?");
    sql::Stmt del_d(m.db, "DELETE FROM documents WHERE did = ?");
    for (int64_t did : replaced_dids) {
      dp.bind(1, did);
      while (dp.step()) dead.push_back(dp.i64(0));
      dp.reset();
      del_p.bind(1, did).exec();
      del_d.bind(1, did).exec();
    }
    sql::Stmt ins_d(m.db, "INSERT INTO documents(id, title, text, metadata) VALUES(?, ?, ?, ?)");
    sql::Stmt ins_p(m.db, "INSERT INTO passages(did, ord, start, end, length, embedding) VALUES(?, ?, ?, ?, ?, ?)");
    std::vector<int64_t> dids(docs.size());
    for (size_t i : todo) {
      const Document& d = docs[i];
      ins_d.bind(1, d.id).bind(2, d.title).bind(3, d.text);
      if (d.metadata.empty()) ins_d.bind_null(4); else ins_d.bind(4, d.metadata);
      ins_d.exec();
      dids[i] = sqlite3_last_insert_rowid(m.db.handle());
      new_docs.emplace_back(dids[i], d.id);
    }
    std::map<std::string, std::vector<std::pair<int64_t, uint32_t>>> inv;
    for (size_t k = 0; k < items.size(); ++k) {
      const PreparedPassage& p = b.passages[items[k]];
      ins_p.bind(1, dids[p.doc]).bind(2, static_cast<int64_t>(p.ord)).bind(3, static_cast<int64_t>(p.start))
          .bind(4, static_cast<int64_t>(p.end)).bind(5, static_cast<int64_t>(p.terms.size()));
      if (emb) ins_p.bind_blob(6, as_blob(vecs[k])); else ins_p.bind_null(6);
      ins_p.exec();
      int64_t pid = sqlite3_last_insert_rowid(m.db.handle());
      added.emplace_back(pid, dids[p.doc], p.ord, static_cast<uint32_t>(p.terms.size()));
      std::map<std::string_view, uint32_t> tf;
      for (const auto& term : p.terms) ++tf[term];
      for (const auto& [term, n] : tf) inv[std::string(term)].emplace_back(pid, n);
    }
    int64_t seg = m.db.scalar("SELECT coalesce(max(seg), 0) + 1 FROM postings");
    sql::Stmt ins_t(m.db, "INSERT INTO postings(term, seg, data) VALUES(?, ?, ?)");
    for (const auto& [term, list] : inv) ins_t.bind(1, term).bind(2, seg).bind_blob(3, index::encode_postings(list)).exec();
    t.commit();
  }
  // The commit succeeded: update the in-memory view.
  if (emb && m.embedder_identity.empty()) m.embedder_identity = emb->identity(), m.dim = emb->dimension();
  for (int64_t p : dead) m.kill_passage(p);
  for (int64_t did : replaced_dids) m.doc_id.erase(did);
  for (auto& [did, id] : new_docs) m.doc_id.emplace(did, id);
  for (auto& [p, d, o, l] : added) m.append_passage(p, d, o, l);
  m.cache.clear();
  m.vectors.reset();
  m.mark_written();
  res.added = todo.size() - replaced_dids.size();
  res.replaced = replaced_dids.size();
  res.passages = items.size();
  return res;
}

/// SkipExisting: marks the documents `db` already holds (they are then not chunked).
std::vector<char> known_ids(sql::Stmt& q, const std::vector<Document>& docs) {
  std::vector<char> known(docs.size(), 0);
  for (size_t i = 0; i < docs.size(); ++i) {
    q.bind(1, docs[i].id);
    known[i] = q.step() ? 1 : 0;
    q.reset();
  }
  return known;
}

void accumulate(AddResult& sum, const AddResult& r) {
  sum.added += r.added, sum.replaced += r.replaced, sum.skipped += r.skipped, sum.passages += r.passages;
}

}  // namespace

size_t resolve_repeated_ids(std::vector<Document>& docs, AddMode mode) {
  if (!has_repeated_ids(docs)) return 0;
  std::vector<char> stays(docs.size(), 1);
  {
    std::unordered_map<std::string_view, size_t> kept;  // id -> the position that stays (views into docs: no moves yet)
    for (size_t i = 0; i < docs.size(); ++i) {
      if (docs[i].id.empty()) continue;
      auto [it, fresh] = kept.emplace(docs[i].id, i);
      if (fresh) continue;
      if (mode == AddMode::Replace) {
        stays[it->second] = 0;
        it->second = i;
      } else {
        stays[i] = 0;
      }
    }
  }
  std::vector<Document> out;
  size_t removed = 0;
  for (size_t i = 0; i < docs.size(); ++i) {
    if (stays[i]) {
      out.push_back(std::move(docs[i]));
    } else {
      ++removed;
    }
  }
  docs = std::move(out);
  return removed;
}

const std::vector<Document>& resolve_repeated_ids(const std::vector<Document>& docs, AddMode mode,
                                                  std::vector<Document>& storage, size_t& repeated) {
  repeated = 0;
  if (!has_repeated_ids(docs)) return docs;
  storage = docs;
  repeated = resolve_repeated_ids(storage, mode);
  return storage;
}

AddResult Collection::add(const std::vector<Document>& given, AddMode mode) {
  Impl& m = *impl_;
  m.refresh();
  std::vector<Document> resolved;
  size_t repeated = 0;
  const std::vector<Document>& docs = resolve_repeated_ids(given, mode, resolved, repeated);
  check_ids(docs);
  PreparedBatch b;
  b.docs = &docs;
  if (mode == AddMode::SkipExisting) {
    sql::Stmt q(m.db, "SELECT 1 FROM documents WHERE id = ?");
    b.known = known_ids(q, docs);
  } else {
    b.known.assign(docs.size(), 0);
  }
  if (std::find(b.known.begin(), b.known.end(), 0) == b.known.end()) {
    AddResult res;
    res.skipped = docs.size();
    count_repeated(res, repeated, mode);
    return res;
  }
  const Chunking ck = resolve_chunking(m);
  prepare(b, ck, m.analyzer, m.embedder.get());
  AddResult res = commit(m, b, mode, ck);
  count_repeated(res, repeated, mode);
  return res;
}

AddResult Collection::add_batches(const std::function<void(const BatchSink&)>& source, AddMode mode,
                                  const std::function<void(const AddResult&, const ReadProgress&)>& on_commit) {
  Impl& m = *impl_;
  m.refresh();
  const Chunking ck = resolve_chunking(m);
  const Embedder* emb = m.embedder.get();
  const std::string stemmer = m.options.stemmer, file = m.db.file();
  AddResult sum;
  collection::Prefetch<PreparedBatch> queue(2, [&, ck, emb](const collection::Prefetch<PreparedBatch>::Emit& emit) {
    Analyzer analyzer(stemmer);  // this thread's own, as its own read-only look at the database
    std::optional<sql::Db> db;
    std::optional<sql::Stmt> q;
    if (mode == AddMode::SkipExisting) db.emplace(file, false), q.emplace(*db, "SELECT 1 FROM documents WHERE id = ?");
    source([&](std::vector<Document>& docs, const ReadProgress& progress) {
      PreparedBatch b;
      b.owned = std::move(docs);
      b.docs = &b.owned;
      b.repeated = resolve_repeated_ids(b.owned, mode);
      b.progress = progress;
      if (q) b.known = known_ids(*q, b.owned);
      prepare(b, ck, analyzer, emb);
      emit(std::move(b));
    });
  });
  while (auto b = queue.next()) {
    b->docs = &b->owned;  // moved: point at this copy
    AddResult r = commit(m, *b, mode, ck);
    count_repeated(r, b->repeated, mode);
    accumulate(sum, r);
    if (on_commit) on_commit(r, b->progress);
  }
  return sum;
}

size_t Collection::embed_missing(size_t batch, const std::function<void(size_t, size_t)>& progress) {
  Impl& m = *impl_;
  m.refresh();
  Embedder* emb = m.embedder.get();
  if (!emb) throw InputError("embedding the passages of " + m.dir.string() + " needs an embedder (--bi-encoder)");
  if (batch == 0) batch = 1;
  std::vector<int64_t> todo;
  {
    sql::Stmt s(m.db, "SELECT pid FROM passages WHERE embedding IS NULL ORDER BY pid");
    while (s.step()) todo.push_back(s.i64(0));
  }
  if (todo.empty()) return 0;
  const size_t dim = emb->dimension();
  if (m.dim && m.dim != dim)
    throw InputError("collection " + m.dir.string() + " holds " + std::to_string(m.dim) + "-d embeddings, the embedder gives " +
                     std::to_string(dim));
  struct Job {
    size_t begin = 0, n = 0;
    std::unique_ptr<PreparedTexts> texts;
  };
  const std::string file = m.db.file();
  const fs::path dir = m.dir;
  collection::Prefetch<Job> queue(2, [&](const collection::Prefetch<Job>::Emit& emit) {
    sql::Db db(file, false);  // this thread's own connection: reads the next batch's texts
    sql::Stmt s(db, Impl::kPassageTextSql);
    for (size_t i = 0; i < todo.size(); i += batch) {
      Job j;
      j.begin = i;
      j.n = std::min(batch, todo.size() - i);
      std::vector<std::string> texts;
      texts.reserve(j.n);
      for (size_t k = 0; k < j.n; ++k) texts.push_back(Impl::passage_text(s, todo[i + k], dir));
      j.texts = emb->prepare(std::move(texts), EmbedKind::Passage);
      emit(std::move(j));
    }
  });
  size_t done = 0;
  while (auto j = queue.next()) {
    std::vector<size_t> items(j->n);
    std::iota(items.begin(), items.end(), size_t{0});
    auto vecs = embed_checked(*emb, *j->texts, items);
    sql::Transaction t(m.db);
    if (m.embedder_identity.empty()) {
      m.set_meta("embedder", emb->identity());
      m.set_meta("embedding.dim", std::to_string(dim));
    }
    sql::Stmt up(m.db, "UPDATE passages SET embedding = ? WHERE pid = ? AND embedding IS NULL");
    for (size_t k = 0; k < j->n; ++k) up.bind_blob(1, as_blob(vecs[k])).bind(2, todo[j->begin + k]).exec();
    t.commit();
    if (m.embedder_identity.empty()) m.embedder_identity = emb->identity(), m.dim = dim;
    done += j->n;
    if (progress) progress(done, todo.size());
  }
  m.vectors.reset();
  m.mark_written();
  return done;
}

}  // namespace rerank

// Collection storage: opening/creating (format check), remove/get, optimize (see collection_impl.hpp); adding
// documents and embeddings is ingest.cpp.
#include <algorithm>

#include "collection/collection_impl.hpp"
#include "rerank/error.hpp"

namespace rerank {
namespace fs = std::filesystem;

namespace {

constexpr const char* kMagic = "rerank-collection";
constexpr int32_t kApplicationId = 0x52524B43;  // "RRKC"
constexpr const char* kDbName = "collection.sqlite";

const char* kSchema = R"(
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE documents(did INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, title TEXT NOT NULL,
                       text TEXT NOT NULL, metadata TEXT);
CREATE TABLE passages(pid INTEGER PRIMARY KEY AUTOINCREMENT, did INTEGER NOT NULL, ord INTEGER NOT NULL,
                      start INTEGER NOT NULL, end INTEGER NOT NULL, length INTEGER NOT NULL, embedding BLOB);
CREATE INDEX passages_did ON passages(did);
CREATE TABLE postings(term TEXT NOT NULL, seg INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY(term, seg)) WITHOUT ROWID;
)";

std::string fmt_float(float f) {
  char b[32];
  std::snprintf(b, sizeof b, "%.9g", static_cast<double>(f));
  return b;
}

}  // namespace

// ---- Impl helpers ----------------------------------------------------------------------------------------

std::string Collection::Impl::meta(const std::string& key, const std::string& fallback) {
  sql::Stmt s(db, "SELECT value FROM meta WHERE key = ?");
  s.bind(1, key);
  return s.step() ? s.text(0) : fallback;
}

void Collection::Impl::set_meta(const std::string& key, const std::string& value) {
  sql::Stmt s(db, "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  s.bind(1, key).bind(2, value).exec();
}

void Collection::Impl::load_meta() {
  const std::string where = (dir / kDbName).string();
  bool has_meta = db.scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'") > 0;
  if (!has_meta || meta("magic") != kMagic)
    throw Error(where + ": not a rerank collection (no \"" + kMagic + "\" magic)");
  int version = std::atoi(meta("format_version", "0").c_str());
  if (version != kFormatVersion)
    throw Error(where + ": collection format version " + std::to_string(version) + ", but this rerank reads version " +
                std::to_string(kFormatVersion) + (version > kFormatVersion ? " (written by a newer rerank: upgrade rerank)"
                                                                          : " (re-index it with this rerank)"));
  try {
    options.bm25.k1 = std::stof(meta("bm25.k1", "0.9"));
    options.bm25.b = std::stof(meta("bm25.b", "0.4"));
  } catch (const std::exception&) {
    throw Error(where + ": corrupt bm25 parameters in meta");
  }
  options.bm25.lucene_lengths = meta("bm25.lucene_lengths", "1") == "1";
  options.stemmer = meta("analyzer.stemmer", "porter");
  chunk_size = static_cast<size_t>(std::atoll(meta("chunk.size", "0").c_str()));
  chunk_overlap = static_cast<size_t>(std::atoll(meta("chunk.overlap", "0").c_str()));
  chunk_unit = meta("chunk.unit", "");
  options.chunk.disabled = meta("chunk.disabled", "0") == "1";
  embedder_identity = meta("embedder", "");
  dim = static_cast<size_t>(std::atoll(meta("embedding.dim", "0").c_str()));
}

void Collection::Impl::append_passage(int64_t p, int64_t d, uint32_t ord, uint32_t len) {
  ord_of_pid[p] = static_cast<uint32_t>(pid.size());
  pid.push_back(p);
  did.push_back(d);
  ord_in_doc.push_back(ord);
  length.push_back(len);
  live.push_back(1);
  ++live_count;
  if (len > 0) ++live_nonempty;
  sum_length += len;
  norms_dirty = true;
}

void Collection::Impl::kill_passage(int64_t p) {
  auto it = ord_of_pid.find(p);
  if (it == ord_of_pid.end() || !live[it->second]) return;
  uint32_t o = it->second;
  live[o] = 0;
  --live_count;
  if (length[o] > 0) --live_nonempty;
  sum_length -= length[o];
  norms_dirty = true;
}

void Collection::Impl::load_passages() {
  pid.clear(), did.clear(), ord_in_doc.clear(), length.clear(), live.clear(), ord_of_pid.clear(), doc_id.clear();
  live_count = live_nonempty = sum_length = 0;
  cache.clear();
  vectors.reset();
  sql::Stmt s(db, "SELECT pid, did, ord, length FROM passages ORDER BY pid");
  while (s.step()) append_passage(s.i64(0), s.i64(1), static_cast<uint32_t>(s.i64(2)), static_cast<uint32_t>(s.i64(3)));
  sql::Stmt d(db, "SELECT did, id FROM documents");
  while (d.step()) doc_id.emplace(d.i64(0), d.text(1));
  mark_written();
}

void Collection::Impl::mark_written() { data_version = db.scalar("PRAGMA data_version"); }

void Collection::Impl::refresh() {
  if (db.scalar("PRAGMA data_version") == data_version) return;
  load_meta();
  load_passages();
}

// ---- open / create ---------------------------------------------------------------------------------------

Collection::Collection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Collection::~Collection() = default;
Collection::Collection(Collection&&) noexcept = default;
Collection& Collection::operator=(Collection&&) noexcept = default;

static std::unique_ptr<Collection::Impl> open_impl(const fs::path& dir, const CollectionOptions& opts, bool create) {
  fs::path file = dir / kDbName;
  std::error_code ec;
  bool exists = fs::exists(file, ec);
  if (!exists && !create) {
    if (!fs::is_directory(dir, ec)) throw Error(dir.string() + ": no such collection directory");
    throw Error(dir.string() + ": not a rerank collection (no " + kDbName + "; create one with `rerank index`)");
  }
  if (!exists) {
    fs::create_directories(dir, ec);
    if (ec) throw Error(dir.string() + ": cannot create directory: " + ec.message());
  }
  auto impl = std::make_unique<Collection::Impl>(opts.stemmer);
  impl->dir = dir;
  impl->db = sql::Db(file, !exists);
  impl->db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = OFF;");
  if (create) {
    sql::Transaction t(impl->db);  // re-checked under the write lock: two creators never both initialise
    if (impl->db.scalar("SELECT count(*) FROM sqlite_master") == 0) {
      impl->db.exec(kSchema);
      impl->db.exec(("PRAGMA application_id = " + std::to_string(kApplicationId)).c_str());
      impl->db.exec(("PRAGMA user_version = " + std::to_string(Collection::kFormatVersion)).c_str());
      impl->set_meta("magic", kMagic);
      impl->set_meta("format_version", std::to_string(Collection::kFormatVersion));
      impl->set_meta("bm25.k1", fmt_float(opts.bm25.k1));
      impl->set_meta("bm25.b", fmt_float(opts.bm25.b));
      impl->set_meta("bm25.lucene_lengths", opts.bm25.lucene_lengths ? "1" : "0");
      impl->set_meta("analyzer.stemmer", opts.stemmer);
      impl->set_meta("chunk.disabled", opts.chunk.disabled ? "1" : "0");
      if (opts.chunk.size) impl->set_meta("chunk.size", std::to_string(opts.chunk.size));
      if (opts.chunk.overlap) impl->set_meta("chunk.overlap", std::to_string(opts.chunk.overlap));
    }
    t.commit();
  }
  int64_t app = impl->db.scalar("PRAGMA application_id");
  if (app != kApplicationId)
    throw Error(file.string() + ": not a rerank collection (SQLite application_id " + std::to_string(app) + ")");
  impl->load_meta();
  if (impl->options.stemmer != opts.stemmer) impl->analyzer = Analyzer(impl->options.stemmer);
  impl->options.vector_index = opts.vector_index;
  impl->options.hnsw_threshold = opts.hnsw_threshold;
  if (opts.vector_index != "auto" && opts.vector_index != "exact" && opts.vector_index != "hnsw")
    throw InputError("unknown vector index \"" + opts.vector_index + "\" (expected auto, exact or hnsw)");
  impl->load_passages();
  return impl;
}

Collection Collection::open(const fs::path& dir, const CollectionOptions& runtime) {
  return Collection(open_impl(dir, runtime, false));
}

Collection Collection::open_or_create(const fs::path& dir, const CollectionOptions& options) {
  return Collection(open_impl(dir, options, true));
}

const fs::path& Collection::directory() const { return impl_->dir; }

void Collection::set_embedder(std::shared_ptr<Embedder> e) {
  if (e && !impl_->embedder_identity.empty() && e->identity() != impl_->embedder_identity && impl_->dim != e->dimension())
    throw InputError("collection " + impl_->dir.string() + " was embedded with " + impl_->embedder_identity + " (dimension " +
                     std::to_string(impl_->dim) + "), not " + e->identity() + " (dimension " + std::to_string(e->dimension()) + ")");
  impl_->embedder = std::move(e);
}

std::shared_ptr<Embedder> Collection::embedder() const { return impl_->embedder; }

// ---- add / remove ----------------------------------------------------------------------------------------

size_t Collection::missing_embeddings() const {
  return static_cast<size_t>(impl_->db.scalar("SELECT count(*) FROM passages WHERE embedding IS NULL"));
}

size_t Collection::remove(const std::vector<std::string>& ids) {
  Impl& m = *impl_;
  m.refresh();
  std::vector<int64_t> dead, dids;
  {
    sql::Transaction t(m.db);
    sql::Stmt q(m.db, "SELECT did FROM documents WHERE id = ?");
    sql::Stmt dp(m.db, "SELECT pid FROM passages WHERE did = ?");
    sql::Stmt del_p(m.db, "DELETE FROM passages WHERE did = ?");
    sql::Stmt del_d(m.db, "DELETE FROM documents WHERE did = ?");
    for (const auto& id : ids) {
      q.bind(1, id);
      bool found = q.step();
      int64_t did = found ? q.i64(0) : 0;
      q.reset();
      if (!found) continue;
      dids.push_back(did);
      dp.bind(1, did);
      while (dp.step()) dead.push_back(dp.i64(0));
      dp.reset();
      del_p.bind(1, did).exec();
      del_d.bind(1, did).exec();
    }
    t.commit();
  }
  for (int64_t p : dead) m.kill_passage(p);
  for (int64_t d : dids) m.doc_id.erase(d);
  m.cache.clear();
  m.vectors.reset();
  m.mark_written();
  return dids.size();
}

void Collection::optimize() {
  Impl& m = *impl_;
  m.refresh();
  sql::Transaction t(m.db);
  std::vector<std::pair<std::string, std::string>> merged;
  {
    sql::Stmt s(m.db, "SELECT term, data FROM postings ORDER BY term, seg");
    std::string term;
    std::vector<std::pair<int64_t, uint32_t>> list;
    auto flush = [&] {
      if (!list.empty()) merged.emplace_back(term, index::encode_postings(list));
      list.clear();
    };
    while (s.step()) {
      std::string tm = s.text(0);
      if (tm != term) {
        flush();
        term = tm;
      }
      index::decode_postings(s.blob(1), m.db.file() + ": term \"" + tm + "\"", [&](int64_t p, uint32_t tf) {
        auto it = m.ord_of_pid.find(p);
        if (it != m.ord_of_pid.end() && m.live[it->second]) list.emplace_back(p, tf);
      });
    }
    flush();
  }
  m.db.exec("DELETE FROM postings");
  sql::Stmt ins(m.db, "INSERT INTO postings(term, seg, data) VALUES(?, 0, ?)");
  for (const auto& [term, blob] : merged) ins.bind(1, term).bind_blob(2, blob).exec();
  t.commit();
  m.mark_written();
}

// ---- reading ---------------------------------------------------------------------------------------------

std::optional<Document> Collection::get(const std::string& id) const {
  sql::Stmt s(impl_->db, "SELECT id, title, text, metadata FROM documents WHERE id = ?");
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return Document{s.text(0), s.text(1), s.text(2), s.is_null(3) ? "" : s.text(3)};
}

bool Collection::contains(const std::string& id) const {
  sql::Stmt s(impl_->db, "SELECT 1 FROM documents WHERE id = ?");
  s.bind(1, id);
  return s.step();
}

size_t Collection::size() const { return static_cast<size_t>(impl_->db.scalar("SELECT count(*) FROM documents")); }

std::vector<std::string> Collection::ids() const {
  std::vector<std::string> out;
  sql::Stmt s(impl_->db, "SELECT id FROM documents ORDER BY did");
  while (s.step()) out.push_back(s.text(0));
  return out;
}

const char* const Collection::Impl::kPassageTextSql =
    "SELECT d.title, substr(CAST(d.text AS BLOB), p.start + 1, p.end - p.start) FROM passages p "
    "JOIN documents d ON d.did = p.did WHERE p.pid = ?";

std::string Collection::Impl::passage_text(sql::Stmt& s, int64_t passage, const fs::path& dir) {
  s.bind(1, passage);
  if (!s.step()) throw InputError("no passage " + std::to_string(passage) + " in " + dir.string());
  std::string title = s.text(0);
  std::string_view chunk = s.blob(1);
  std::string out = title.empty() ? std::string(chunk) : title + " " + std::string(chunk);
  s.reset();
  return out;
}

std::string Collection::passage_text(int64_t passage) const {
  sql::Stmt s(impl_->db, Impl::kPassageTextSql);
  return Impl::passage_text(s, passage, impl_->dir);
}

CollectionStats Collection::stats() const {
  Impl& m = *impl_;
  CollectionStats st;
  st.documents = size();
  st.passages = m.live_count;
  st.terms = static_cast<size_t>(m.db.scalar("SELECT count(DISTINCT term) FROM postings"));
  st.segments = static_cast<size_t>(m.db.scalar("SELECT count(DISTINCT seg) FROM postings"));
  st.avg_passage_length = m.live_count ? static_cast<double>(m.sum_length) / static_cast<double>(m.live_count) : 0;
  st.embedding_dim = m.dim;
  st.embedder = m.embedder_identity;
  st.chunk_size = m.chunk_size;
  st.chunk_overlap = m.chunk_overlap;
  st.format_version = kFormatVersion;
  return st;
}

}  // namespace rerank

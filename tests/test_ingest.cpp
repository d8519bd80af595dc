// Collection ingestion (src/collection/ingest.cpp): the pipelined, length-batched add_batches() against the
// sequential add() and against embedding each passage alone, its error paths, and the bf16 fast mode's embeddings
// against fp32.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cmath>
#include <random>

#include "rerank/bi_encoder.hpp"
#include "rerank/collection.hpp"
#include "rerank/error.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
using namespace rerank;

namespace {

const fs::path kBi = test::data("encoders/models/bi-tiny-mean");

fs::path temp_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("rerank-ingest-" + std::to_string(::getpid()) + "-" + name);
  fs::remove_all(p);
  return p;
}

/// 40 documents from 3 to ~600 words: short ones, ones near the 254-token window and long ones that are chunked,
/// in an order where lengths go up and down (so sorting by length reorders every batch).
std::vector<Document> varied_docs() {
  static const char* words[] = {"password", "reset", "the", "whale", "migrates", "south", "in", "winter", "bones",
                                "of", "marine", "mammals", "grow", "slowly", "token", "expires", "after", "one", "day"};
  std::mt19937 rng(11);
  std::vector<Document> docs;
  for (int i = 0; i < 40; ++i) {
    size_t n = (i % 5 == 0) ? 350 + rng() % 300 : (i % 3 == 0) ? 180 + rng() % 60 : 3 + rng() % 60;
    std::string text;
    for (size_t w = 0; w < n; ++w) text += std::string(w ? (w % 17 == 0 ? ". " : " ") : "") + words[rng() % 19];
    docs.push_back({"doc" + std::to_string(i), i % 4 ? "Title " + std::to_string(i) : "", text + ".", ""});
  }
  return docs;
}

struct StoredPassage {
  std::string doc;
  int64_t pid, ord, start, end;
  std::vector<float> vec;
};

std::vector<StoredPassage> stored(const fs::path& dir) {
  sqlite3* h = nullptr;
  EXPECT_EQ(sqlite3_open((dir / "collection.sqlite").c_str(), &h), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(h, "SELECT d.id, p.pid, p.ord, p.start, p.end, p.embedding FROM passages p JOIN documents d "
                                  "ON d.did = p.did ORDER BY p.pid", -1, &s, nullptr), SQLITE_OK);
  std::vector<StoredPassage> out;
  while (sqlite3_step(s) == SQLITE_ROW) {
    StoredPassage p{reinterpret_cast<const char*>(sqlite3_column_text(s, 0)), sqlite3_column_int64(s, 1),
                    sqlite3_column_int64(s, 2), sqlite3_column_int64(s, 3), sqlite3_column_int64(s, 4), {}};
    const auto* f = static_cast<const float*>(sqlite3_column_blob(s, 5));
    p.vec.assign(f, f + sqlite3_column_bytes(s, 5) / sizeof(float));
    out.push_back(std::move(p));
  }
  sqlite3_finalize(s);
  sqlite3_close(h);
  return out;
}

std::shared_ptr<Embedder> embedder(Precision p = Precision::FP32, size_t threads = 2) {
  return make_bi_encoder_embedder(kBi, {.threads = threads, .batch_size = 4, .pool = nullptr, .precision = p});
}

/// A source emitting `docs` in batches of `batch`.
std::function<void(const Collection::BatchSink&)> batches_of(const std::vector<Document>& docs, size_t batch) {
  return [docs, batch](const Collection::BatchSink& sink) {
    for (size_t i = 0; i < docs.size(); i += batch) {
      std::vector<Document> b(docs.begin() + i, docs.begin() + std::min(docs.size(), i + batch));
      ReadProgress p;
      p.documents = b.size();
      sink(b, p);
    }
  };
}

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i) dot += a[i] * b[i], na += a[i] * a[i], nb += b[i] * b[i];
  return dot / std::sqrt(na * nb);
}

}  // namespace

// Tolerance: a passage's embedding does not depend on the batch it is computed in (sequences are packed without
// padding), but the GEMMs block differently for different row counts, so the fp32 sums may round differently:
// every component of the stored unit vectors within 1e-5 (observed ~1e-7).
TEST(Ingest, PipelinedLengthSortedBatchesStoreWhatSequentialAddStores) {
  const auto docs = varied_docs();
  fs::path seq = temp_dir("seq"), pipe = temp_dir("pipe");
  {
    auto c = Collection::open_or_create(seq);
    c.set_embedder(embedder(Precision::FP32, 1));
    for (size_t i = 0; i < docs.size(); i += 7)  // sequential: one add() per batch
      c.add(std::vector<Document>(docs.begin() + i, docs.begin() + std::min(docs.size(), i + 7)));
  }
  {
    auto c = Collection::open_or_create(pipe);
    c.set_embedder(embedder());
    size_t commits = 0;
    AddResult r = c.add_batches(batches_of(docs, 7), AddMode::SkipExisting, [&](const AddResult&, const ReadProgress&) { ++commits; });
    EXPECT_EQ(commits, 6u);
    EXPECT_EQ(r.added, docs.size());
    EXPECT_EQ(c.ids(), Collection::open(seq).ids());
  }
  auto a = stored(seq), b = stored(pipe);
  ASSERT_EQ(a.size(), b.size());
  ASSERT_GT(a.size(), docs.size());  // the long documents were chunked
  BiEncoder alone(Model::load(kBi), {.threads = 1, .batch_size = 1, .pool = nullptr});
  auto c = Collection::open(pipe);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(std::tie(a[i].doc, a[i].pid, a[i].ord, a[i].start, a[i].end), std::tie(b[i].doc, b[i].pid, b[i].ord, b[i].start, b[i].end));
    ASSERT_EQ(a[i].vec.size(), 32u);
    ASSERT_EQ(b[i].vec.size(), 32u);
    auto ref = alone.encode({c.passage_text(b[i].pid)})[0];  // the passage embedded on its own (batch of one)
    double norm = 0;
    for (float x : ref) norm += double(x) * x;
    for (size_t k = 0; k < 32; ++k) {
      EXPECT_NEAR(a[i].vec[k], b[i].vec[k], 1e-5) << a[i].doc << " passage " << a[i].ord;
      EXPECT_NEAR(b[i].vec[k], ref[k] / std::sqrt(norm), 1e-5) << b[i].doc << " passage " << b[i].ord;
    }
  }
  fs::remove_all(seq);
  fs::remove_all(pipe);
}

TEST(Ingest, PipelineErrorsLeaveWholeBatches) {
  auto docs = varied_docs();
  docs.resize(20);
  fs::path dir = temp_dir("errors");
  auto c = Collection::open_or_create(dir);
  c.set_embedder(embedder());
  // the source fails after two batches (a malformed line): both are committed, the error comes after them
  auto failing = [&](const Collection::BatchSink& sink) {
    batches_of(std::vector<Document>(docs.begin(), docs.begin() + 10), 5)(sink);
    throw InputError("corpus.jsonl line 11: not JSON");
  };
  size_t commits = 0;
  EXPECT_THROW(c.add_batches(failing, AddMode::SkipExisting, [&](const AddResult&, const ReadProgress&) { ++commits; }), InputError);
  EXPECT_EQ(commits, 2u);
  EXPECT_EQ(c.size(), 10u);
  // the consumer fails on its second commit (Ctrl-C in Python, a full disk): the source stops, no hang
  size_t produced = 0;
  auto endless = [&](const Collection::BatchSink& sink) {
    for (size_t i = 0;; ++i) {
      std::vector<Document> b{{std::string("x").append(std::to_string(i)), "", std::string("document ").append(std::to_string(i)), ""}};
      ++produced;
      sink(b, ReadProgress{});
    }
  };
  commits = 0;
  EXPECT_THROW(c.add_batches(endless, AddMode::SkipExisting, [&](const AddResult&, const ReadProgress&) {
    if (++commits == 2) throw std::runtime_error("interrupted");
  }), std::runtime_error);
  EXPECT_EQ(c.size(), 12u);
  EXPECT_LE(produced, 2u + 2 + 1);  // two committed, at most two waiting, one being prepared
  // ids repeated in a later batch of the same stream are skipped (or replaced), as with add() calls
  auto again = [&](const Collection::BatchSink& sink) {
    batches_of(std::vector<Document>(docs.begin() + 10, docs.begin() + 20), 5)(sink);
    batches_of(std::vector<Document>(docs.begin() + 8, docs.begin() + 14), 3)(sink);
  };
  AddResult r = c.add_batches(again);
  EXPECT_EQ(r.added, 10u);
  EXPECT_EQ(r.skipped, 6u);
  r = c.add_batches(again, AddMode::Replace);
  EXPECT_EQ(r.replaced, 16u);
  EXPECT_EQ(c.size(), 22u);
  // an empty id is an InputError, nothing of that batch is written
  std::vector<Document> bad{{"d1", "", "a", ""}, {"", "", "b", ""}};
  EXPECT_THROW(c.add_batches([&](const Collection::BatchSink& sink) { sink(bad, ReadProgress{}); }), InputError);
  EXPECT_FALSE(c.contains("d1"));
  fs::remove_all(dir);
}

// An id repeated within a batch resolves as one repeated across batches (first kept, or last with Replace), so what
// a stream stores and the counts do not depend on where its batches end (`rerank index --batch-size`). Before, a
// repeat inside one batch was an InputError while the same repeat across two batches was skipped.
TEST(Ingest, RepeatedIdsResolveTheSameInAnyBatching) {
  const std::vector<Document> docs{{"d0", "", "alpha", ""},  {"d1", "", "beta", ""},    {"d0", "", "gamma", ""},
                                   {"d2", "", "delta", ""},  {"d1", "", "epsilon", ""}, {"d0", "", "zeta", ""}};
  const auto found = [](Collection& c, const std::string& word) {
    auto hits = c.search_bm25(word, 5);
    return hits.size() == 1 ? hits[0].doc_id : std::string(hits.empty() ? "none" : "several");
  };
  for (AddMode mode : {AddMode::SkipExisting, AddMode::Replace}) {
    const bool first = mode == AddMode::SkipExisting;
    for (size_t batch : {0, 1, 2, 4, 6}) {  // 0: one add() call with all of them
      const std::string what = std::string(first ? "skip" : "replace") + ", batch " + std::to_string(batch);
      const fs::path dir = temp_dir("repeat");
      auto c = Collection::open_or_create(dir);
      AddResult r = batch ? c.add_batches(batches_of(docs, batch), mode) : c.add(docs, mode);
      EXPECT_EQ(r.added, 3u) << what;
      EXPECT_EQ(first ? r.skipped : r.replaced, 3u) << what;
      EXPECT_EQ(first ? r.replaced : r.skipped, 0u) << what;
      EXPECT_EQ(c.size(), 3u) << what;
      EXPECT_EQ(found(c, first ? "alpha" : "zeta"), "d0") << what;
      EXPECT_EQ(found(c, first ? "beta" : "epsilon"), "d1") << what;
      EXPECT_EQ(found(c, first ? "zeta" : "alpha"), "none") << what;
      EXPECT_EQ(found(c, "gamma"), "none") << what;
      EXPECT_EQ(found(c, "delta"), "d2") << what;
      fs::remove_all(dir);
    }
  }
  // the helper itself: order of the kept documents preserved, empty ids left for the adders to reject
  std::vector<Document> v{{"a", "", "1", ""}, {"", "", "2", ""}, {"b", "", "3", ""}, {"a", "", "4", ""}, {"", "", "5", ""}};
  std::vector<Document> keep_first = v, keep_last = v;
  EXPECT_EQ(resolve_repeated_ids(keep_first, AddMode::SkipExisting), 1u);
  EXPECT_EQ(resolve_repeated_ids(keep_last, AddMode::Replace), 1u);
  const auto texts = [](const std::vector<Document>& d) {
    std::string t;
    for (const auto& x : d) t += x.text;
    return t;
  };
  EXPECT_EQ(texts(keep_first), "1235");
  EXPECT_EQ(texts(keep_last), "2345");
  std::vector<Document> none{{"a", "", "1", ""}, {"b", "", "2", ""}};
  EXPECT_EQ(resolve_repeated_ids(none, AddMode::Replace), 0u);
  EXPECT_EQ(texts(none), "12");
}

// The fast mode for indexing: bf16 matrix products. Bound (issue 14): every passage's embedding within cosine
// 0.999 of fp32's. Measured on the real all-MiniLM-L6-v2 over SciFact in docs/PERFORMANCE.md; here on the
// fixture bi-encoder over passages of 3 to 256 tokens.
TEST(Ingest, Bf16EmbeddingsStayWithinCosine0999OfFp32) {
  auto docs = varied_docs();
  std::vector<std::string> texts;
  for (const auto& d : docs) texts.push_back(d.title + " " + d.text);
  auto exact = embedder(Precision::FP32), fast = embedder(Precision::BF16);
  auto e = exact->embed(texts, EmbedKind::Passage), f = fast->embed(texts, EmbedKind::Passage);
  double worst = 1, max_diff = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    worst = std::min(worst, cosine(e[i], f[i]));
    for (size_t k = 0; k < e[i].size(); ++k) max_diff = std::max(max_diff, double(std::fabs(e[i][k] - f[i][k])));
  }
  EXPECT_GE(worst, 0.999);
  EXPECT_GT(max_diff, 0.0);  // bf16 really ran (it is not the fp32 path)
  // and a collection indexed in bf16 stores those vectors
  fs::path dir = temp_dir("bf16");
  auto c = Collection::open_or_create(dir, [] {
    CollectionOptions o;
    o.chunk.disabled = true;
    return o;
  }());
  c.set_embedder(fast);
  c.add_batches(batches_of(docs, 16));
  auto s = stored(dir);
  ASSERT_EQ(s.size(), docs.size());
  for (size_t i = 0; i < s.size(); ++i) EXPECT_GE(cosine(s[i].vec, e[i]), 0.999) << s[i].doc;
  fs::remove_all(dir);
}

// rerank index: add documents from files to a collection (created when missing), in one transaction per batch.
#include <unistd.h>

#include <optional>
#include <thread>

#include "cli.hpp"
#include "rerank/system.hpp"
#include "rerank/collection.hpp"

namespace rerank::cli {
namespace {

struct IndexFlags {
  std::string to = "collection";
  OpenSearchOptions opensearch;
  std::string collection, format = "auto", bi_encoder, bi_encoder_url, bi_encoder_key, vector_index = "auto", precision = "auto";
  std::vector<std::string> files, remove;
  size_t batch = 256, chunk_size = 0, chunk_overlap = 0, threads = 0;
  bool no_chunking = false, update = false, no_optimize = false, exact_lengths = false;
  float k1 = 0.9f, b = 0.4f;
  int throttle_ms = 0;  // hidden, for the crash test
};

/// "[=====>    ]  45%  12,345 docs  850 docs/s  ETA 0:12" on a terminal, nothing in a pipe. The fraction is of the
/// input bytes read (documents are counted as they come, their total is unknown until the end).
class Bar {
 public:
  explicit Bar(uint64_t total) : total_(total), tty_(isatty(STDERR_FILENO) == 1), start_(std::chrono::steady_clock::now()) {}
  void update(uint64_t done_bytes, size_t docs, bool force = false) {
    if (!tty_) return;
    auto now = std::chrono::steady_clock::now();
    if (!force && now - last_ < std::chrono::milliseconds(150)) return;
    last_ = now;
    double s = std::chrono::duration<double>(now - start_).count();
    double frac = total_ ? std::min(1.0, static_cast<double>(done_bytes) / static_cast<double>(total_)) : 0.0;
    double eta = frac > 0.001 ? s * (1 - frac) / frac : 0;
    std::fprintf(stderr, "\r[%s] %3.0f%%  %zu docs  %.0f docs/s  ETA %d:%02d ", progress_bar(frac).c_str(), frac * 100, docs,
                 s > 0 ? docs / s : 0.0, static_cast<int>(eta) / 60, static_cast<int>(eta) % 60);
    std::fflush(stderr);
  }
  void done() {
    if (tty_) std::fprintf(stderr, "\n");
  }

 private:
  uint64_t total_;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_;
};

/// The input files, checked before a collection or index is touched, then read in batches of --batch-size
/// documents with one progress bar over all of them: the bookkeeping both destinations share.
class Inputs {
 public:
  explicit Inputs(const IndexFlags& f) : f_(f), format_(parse_format(f.format)) {
    for (const auto& file : f.files) {
      if (!std::filesystem::is_regular_file(file)) throw InputError(file + ": no such file");
      total_ += std::filesystem::file_size(file);
    }
  }
  /// Reads every file; `each` gets a batch and its progress over all files (bytes read so far, the batch's documents).
  void read(const Collection::BatchSink& each) const {
    uint64_t before = 0;
    for (const auto& file : f_.files) {
      read_documents(file, format_, f_.batch, [&](std::vector<Document>& docs, const ReadProgress& p) {
        ReadProgress q = p;
        q.bytes_read += before;
        q.documents = docs.size();
        each(docs, q);
      });
      before += std::filesystem::file_size(file);
    }
  }
  /// Starts the clock and the progress bar.
  void start() {
    bar_.emplace(total_);
    seen_ = 0;
    t0_ = std::chrono::steady_clock::now();
  }
  /// A batch (as read() passed it) is stored: the bar moves on, then --throttle-ms (tests) passes.
  void stored(const ReadProgress& p) {
    seen_ += p.documents;
    bar_->update(p.bytes_read, seen_);
    if (f_.throttle_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(f_.throttle_ms));
  }
  /// The bar at 100%.
  void finish() {
    bar_->update(total_, seen_, true);
    bar_->done();
  }
  /// Seconds since start().
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count(); }

 private:
  const IndexFlags& f_;
  DocumentFormat format_;
  uint64_t total_ = 0;
  std::optional<Bar> bar_;
  size_t seen_ = 0;
  std::chrono::steady_clock::time_point t0_;
};

/// --precision auto: bf16 where this CPU computes it natively (embeddings within cosine 0.999 of fp32 and SciFact's
/// dense nDCG@10 within 0.001 for all-MiniLM-L6-v2, at ~2.4x the passages per CPU-second: docs/PERFORMANCE.md), else
/// fp32.
std::string index_precision(const std::string& flag) {
  if (flag != "auto") return flag;
  return has_native_bf16() ? "bf16" : "fp32";
}

/// The local or remote bi-encoder's settings from the flags.
BackendOptions backend_options(const IndexFlags& f) {
  BackendOptions backend;
  backend.engine = EngineOptions{f.threads, 32, nullptr, parse_precision(index_precision(f.precision))};
  backend.remote.base_url = f.bi_encoder_url;
  backend.remote.api_key = f.bi_encoder_key;
  return backend;
}

/// --to opensearch: the same input, batches and progress bar; each batch one _mget (skip present ids) + _bulk.
void run_opensearch(const IndexFlags& f) {
  if (!f.collection.empty()) throw InputError("--to opensearch writes to --opensearch URL --index NAME, not to --collection");
  if (!f.remove.empty()) throw InputError("--delete is for collections; delete OpenSearch documents with its own API");
  if (f.files.empty()) throw InputError("--to opensearch needs input files");
  if (f.chunk_size || f.chunk_overlap || f.no_chunking || f.exact_lengths || f.vector_index != "auto")
    throw InputError("--chunk-size, --chunk-overlap, --no-chunking, --exact-lengths and --vector-index are collection options; "
                     "an OpenSearch index holds one entry per document (BM25 with Lucene's norms)");
  Inputs in(f);
  OpenSearchOptions o = f.opensearch;
  o.k1 = f.k1;
  o.b = f.b;
  OpenSearchLoader load(o, f.bi_encoder.empty() ? nullptr : make_embedder(f.bi_encoder, backend_options(f)));
  OpenSearchLoadResult sum;
  in.start();
  in.read([&](std::vector<Document>& docs, const ReadProgress& p) {
    OpenSearchLoadResult r = load.add(docs, f.update ? AddMode::Replace : AddMode::SkipExisting);
    sum.added += r.added, sum.replaced += r.replaced, sum.skipped += r.skipped, sum.retried += r.retried;
    in.stored(p);
  });
  in.finish();
  load.refresh();
  const double s = in.seconds();
  std::printf("indexed %zu new, %zu replaced, %zu already present in %.2f s (%.0f docs/s)%s; OpenSearch index %s at %s: %zu documents%s\n",
              sum.added, sum.replaced, sum.skipped, s, s > 0 ? (sum.added + sum.replaced) / s : 0.0,
              sum.retried ? (", " + std::to_string(sum.retried) + " bulk items retried after 429").c_str() : "",
              o.index.empty() ? "(from $RERANK_OPENSEARCH_INDEX)" : o.index.c_str(), load.url().c_str(), load.count(),
              load.knn() ? ", k-NN vectors" : "");
}

void run(const IndexFlags& f) {
  if (f.to == "opensearch") return run_opensearch(f);
  if (f.collection.empty()) throw InputError("give --collection DIR (or --to opensearch --opensearch URL --index NAME)");
  if (!f.opensearch.url.empty() || !f.opensearch.index.empty())
    throw InputError("--opensearch/--index need --to opensearch");
  CollectionOptions opts;
  opts.chunk.size = f.chunk_size;
  opts.chunk.overlap = f.chunk_overlap;
  opts.chunk.disabled = f.no_chunking;
  opts.bm25.k1 = f.k1;
  opts.bm25.b = f.b;
  opts.bm25.lucene_lengths = !f.exact_lengths;
  opts.vector_index = f.vector_index;
  Inputs in(f);  // fail before touching the collection
  Collection c = Collection::open_or_create(f.collection, opts);
  const BackendOptions backend = backend_options(f);
  if (!f.bi_encoder.empty())
    c.set_embedder(make_embedder(f.bi_encoder, backend));
  else if (!c.stats().embedder.empty() && !f.files.empty())
    c.set_embedder(embedder_from_identity(c.stats().embedder, backend));

  if (const size_t missing = c.embedder() ? c.missing_embeddings() : 0) {  // a BM25-only collection, or a resumed backfill
    std::fprintf(stderr, "embedding %zu passages already in the collection\n", missing);
    Progress eb("embed passages", missing);
    auto te = std::chrono::steady_clock::now();
    size_t reported = 0;
    size_t n = c.embed_missing(f.batch, [&](size_t done, size_t) {
      eb.add(done - reported);
      reported = done;
    });
    eb.finish();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - te).count();
    std::printf("embedded %zu passages in %.2f s (%.0f passages/s)\n", n, s, s > 0 ? n / s : 0.0);
  }
  if (!f.remove.empty()) {
    size_t n = c.remove(f.remove);
    std::printf("removed %zu of %zu documents\n", n, f.remove.size());
  }
  if (f.files.empty()) {  // --delete and/or the embedding backfill only: no input, no progress bar
    if (!f.no_optimize && !f.remove.empty()) c.optimize();
    return;
  }
  in.start();
  // A second thread reads, chunks and tokenizes the next batch while this one embeds and commits the current one.
  const AddResult sum = c.add_batches([&](const Collection::BatchSink& sink) { in.read(sink); },
                                      f.update ? AddMode::Replace : AddMode::SkipExisting,
                                      [&](const AddResult&, const ReadProgress& p) { in.stored(p); });
  in.finish();
  if (!f.no_optimize && (sum.added || sum.replaced || !f.remove.empty())) c.optimize();
  const double s = in.seconds();
  CollectionStats st = c.stats();
  std::printf("indexed %zu new, %zu replaced, %zu already present (%zu passages) in %.2f s (%.0f docs/s, %.1f passages/s); "
              "collection: %zu documents, %zu passages%s\n",
              sum.added, sum.replaced, sum.skipped, sum.passages, s, s > 0 ? (sum.added + sum.replaced) / s : 0.0,
              s > 0 ? sum.passages / s : 0.0, st.documents,
              st.passages, st.embedding_dim ? (", " + std::to_string(st.embedding_dim) + "-d embeddings").c_str() : "");
}

}  // namespace

void register_index(CLI::App& app) {
  auto f = std::make_shared<IndexFlags>();
  CLI::App* cmd = app.add_subcommand("index", "Add documents from files to a collection (BM25 always; embeddings with --bi-encoder)");
  cmd->footer(
      "Formats (by extension, else sniffed; force one with --format):\n"
      "  .jsonl/.json[.gz]  JSON lines, BEIR corpus.jsonl: {\"_id\" (or \"id\"), \"title\", \"text\", \"metadata\"}\n"
      "  .csv/.tsv          a header row with \"id\" and \"text\" columns (optional \"title\"); quoted fields allowed\n"
      "  SMART (.ALL, cran.all.1400, files starting with \".I \")  .I id / .T title / .W text records\n"
      "  TREC SGML (files starting with <DOC>, also .gz)  <DOC><DOCNO>id</DOCNO> ... </DOC>, several per file; text\n"
      "                     from <TEXT>, <HEADLINE>, <TITLE>, <HL>, <HEAD>, <TTL>, <DD>, <DATE>, <LP>, <LEADPARA> (as\n"
      "                     Anserini's TrecCollection), else the text loose between the tags\n"
      "  anything else      plain text or Markdown: one document per file, id = the file name\n"
      "Each batch of --batch-size documents is one transaction: an interrupted run keeps every finished batch, and\n"
      "running the same command again skips ids already in the collection (--update replaces them instead). A second\n"
      "thread reads, chunks and tokenizes the next batch while the current one is embedded (longest passages first)\n"
      "and written. Passages are embedded in bf16 where the CPU computes it natively (AVX512-BF16/AMX: ~2.4x the\n"
      "speed, cosine >= 0.999 to fp32, SciFact dense nDCG@10 0.6540 vs 0.6546: docs/PERFORMANCE.md), else in fp32;\n"
      "--precision fp32 for exact embeddings. Queries are embedded with `rerank search --precision` (fp32 default).\n"
      "Documents longer than the window (the bi-encoder's max length, else --chunk-size words, default 512) are\n"
      "split into overlapping passages on sentence boundaries; search reports each document's best passage.\n"
      "--bi-encoder on a collection indexed without one embeds its passages first (resumable, one transaction per\n"
      "batch). The collection directory stores collection.sqlite (documents, passages, postings, embeddings).\n\n"
      "Examples:\n"
      "  rerank index --collection scifact-idx corpus.jsonl.gz\n"
      "  rerank index --collection notes --bi-encoder all-MiniLM-L6-v2 docs/*.md\n"
      "  rerank index --collection notes --bi-encoder all-MiniLM-L6-v2        # embed a BM25-only collection\n"
      "  rerank index --collection notes --delete old-note.md\n"
      "  rerank index --to opensearch --opensearch http://127.0.0.1:9200 --index scifact --bi-encoder M corpus.jsonl\n\n"
      "--to opensearch: bulk-loads the documents (and their bi-encoder embeddings) into an OpenSearch index, created\n"
      "when missing with rerank's BM25 (--k1/--b, English analyzer) and a vector field (k-NN plugin knn_vector, else\n"
      "a float array searched by an exact script); ids already in the index are skipped, so a rerun resumes;\n"
      "rejected (429) bulk items are sent again with backoff."
      );
  cmd->add_option("-c,--collection", f->collection, "Collection directory (created when missing)");
  cmd->add_option("--to", f->to, "Destination: collection (--collection DIR) or opensearch (--opensearch URL --index NAME)")
      ->capture_default_str()->check(CLI::IsMember({"collection", "opensearch"}));
  add_opensearch_flags(cmd, f->opensearch);
  cmd->add_option("--shards", f->opensearch.shards, "OpenSearch: primary shards of a new index")->capture_default_str()
      ->check(CLI::Range(1, 1024))->group("OpenSearch (first stage)");
  cmd->add_option("--replicas", f->opensearch.replicas, "OpenSearch: replicas of a new index")->capture_default_str()
      ->check(CLI::Range(0, 64))->group("OpenSearch (first stage)");
  cmd->add_option("files", f->files, "Input files");
  cmd->add_option("--format", f->format, "auto, jsonl, csv, tsv, text, smart or trec")->capture_default_str();
  cmd->add_option("--bi-encoder", f->bi_encoder,
                  "Also embed passages for dense search: bi-encoder directory, Hub id ORG/NAME, or openai:MODEL");
  cmd->add_option("--bi-encoder-url", f->bi_encoder_url, "openai: base URL, e.g. http://127.0.0.1:8080/v1")->envname("OPENAI_BASE_URL");
  cmd->add_option("--bi-encoder-key", f->bi_encoder_key, "openai: API key")->envname("OPENAI_API_KEY");
  cmd->add_option("--batch-size", f->batch, "Documents per transaction")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--chunk-size", f->chunk_size, "Tokens per passage (default: the bi-encoder's window, else 512 words; fixed at creation)");
  cmd->add_option("--chunk-overlap", f->chunk_overlap, "Tokens shared by consecutive passages (default: chunk size / 8)");
  cmd->add_flag("--no-chunking", f->no_chunking, "Never split documents (fixed at creation)");
  cmd->add_option("--k1", f->k1, "BM25 k1 (fixed at creation)")->capture_default_str()->check(CLI::Range(0.0, 100.0));
  cmd->add_option("--b", f->b, "BM25 b (fixed at creation)")->capture_default_str()->check(CLI::Range(0.0, 1.0));
  cmd->add_flag("--exact-lengths", f->exact_lengths, "BM25 with exact document lengths instead of Lucene's lossy 1-byte norms");
  cmd->add_flag("--update", f->update, "Replace documents whose id is already present (default: skip them)");
  cmd->add_option("--delete", f->remove, "Document ids to delete");
  cmd->add_flag("--no-optimize", f->no_optimize, "Do not merge the postings segments at the end");
  cmd->add_option("--threads", f->threads, "Worker threads for embedding (0 = all cores)")->check(CLI::Range(0, 1024));
  cmd->add_option("--precision", f->precision,
                  "Local bi-encoder's matrix products: auto (bf16 where the CPU computes it natively, else fp32), fp32 "
                  "(exact), bf16 (embeddings within cosine 0.999 of fp32 for all-MiniLM-L6-v2, see docs/PERFORMANCE.md), int8")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "fp32", "bf16", "int8"}, CLI::ignore_case));
  cmd->add_option("--throttle-ms", f->throttle_ms, "")->group("");  // hidden: sleep after each batch (tests)
  cmd->callback([f] {
    if (f->files.empty() && f->remove.empty() && f->bi_encoder.empty())
      throw InputError("nothing to do: give input files, --delete IDS, or --bi-encoder MODEL to embed the collection");
    run(*f);
  });
}

}  // namespace rerank::cli

// rerank/index.hpp — the pieces a collection indexes with: the BM25 analyzer and the Embedder interface.
//
//   rerank::Analyzer an;                                   // Lucene EnglishAnalyzer-like
//   for (auto& t : an.analyze("The cat's paws were running")) std::cout << t << " ";   // cat paw were run
//
//   auto emb = rerank::make_bi_encoder_embedder("all-MiniLM-L6-v2", {.threads = 2});
//   std::vector<std::vector<float>> v = emb->embed({"first passage", "second"}, rerank::EmbedKind::Passage);
//
// Analyzer: UAX#29-style word tokenization (letters/digits joined across '.', '\'' between letters and '.', ','
// between digits, as Lucene's StandardTokenizer), English possessive removal ("'s"), lowercasing, Lucene's 33
// English stop words, Porter stemming (libstemmer's "porter", the algorithm of Lucene's PorterStemFilter).
// Embedder: anything that turns texts into fixed-size vectors. The bi-encoder implementation runs a local model
// directory (rerank::BiEncoder); a remote OpenAI-compatible /v1/embeddings client ("openai:MODEL") implements the
// same interface (its dimension() may cost a probe request before the first embed()).
//
// Thread safety: an Analyzer holds a stemmer and is NOT thread-safe (one per thread). Embedders are not
// thread-safe unless they say so.
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rerank/cross_encoder.hpp"

namespace rerank {

class Analyzer {
 public:
  /// `stemmer`: a libstemmer algorithm ("porter", "english") or "" for none. Throws Error for an unknown one.
  explicit Analyzer(const std::string& stemmer = "porter");
  ~Analyzer();
  Analyzer(Analyzer&&) noexcept;
  Analyzer& operator=(Analyzer&&) noexcept;

  /// The indexed terms of `text`, in order (stop words removed).
  std::vector<std::string> analyze(std::string_view text);
  /// The raw word tokens (before possessive removal, lowercasing, stop words and stemming).
  static std::vector<std::string> tokenize(std::string_view text);
  static bool is_stop_word(std::string_view lowercase_word);
  const std::string& stemmer_name() const { return stemmer_name_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string stemmer_name_;
};

/// Lucene's lossy document-length encoding (SmallFloat.intToByte4 / byte4ToInt, used for BM25 norms).
unsigned char lucene_length_to_byte(unsigned length);
unsigned lucene_byte_to_length(unsigned char b);

/// BM25 parameters (Anserini's defaults).
struct Bm25Params {
  float k1 = 0.9f;
  float b = 0.4f;
  bool lucene_lengths = true;  ///< quantize document lengths as Lucene's norms do (exact lengths when false)
};

enum class EmbedKind { Query, Passage };

/// Texts made ready for Embedder::embed_prepared (tokenized, for a local model). Embedders extend it.
struct PreparedTexts {
  virtual ~PreparedTexts() = default;
  std::vector<std::string> texts;
  EmbedKind kind = EmbedKind::Passage;
};

/// Turns texts into vectors. Implementations: a local bi-encoder (make_bi_encoder_embedder) and a remote
/// OpenAI-compatible /v1/embeddings endpoint (make_embedder("openai:MODEL"), rerank/reranker.hpp).
class Embedder {
 public:
  virtual ~Embedder() = default;
  /// One vector of dimension() floats per text. Collections store them L2-normalized (cosine = dot product).
  virtual std::vector<std::vector<float>> embed(const std::vector<std::string>& texts, EmbedKind kind) = 0;
  virtual size_t dimension() const = 0;
  /// What a collection records to find this embedder again, e.g. "bi-encoder:/abs/path/to/model".
  virtual std::string identity() const = 0;
  /// Content tokens per text that the model reads (its window without special tokens); 0 = unknown/unbounded.
  virtual size_t window_tokens() const = 0;
  /// Number of model tokens of `text` (for chunking); the default counts whitespace-separated words.
  virtual size_t count_tokens(std::string_view text) const;
  /// Two-stage embedding, so a pipeline can tokenize the next batch while this one is embedded: prepare() may run
  /// on another thread concurrently with embed()/embed_prepared() (it only reads the model's tokenizer);
  /// embed_prepared(p, items) embeds p's texts at `items` (in that order) and equals embed() of those texts.
  /// Defaults: prepare keeps the texts, embed_prepared calls embed().
  virtual std::unique_ptr<PreparedTexts> prepare(std::vector<std::string> texts, EmbedKind kind) const;
  virtual std::vector<std::vector<float>> embed_prepared(const PreparedTexts& prepared, const std::vector<size_t>& items);
};

/// A local sentence-transformers bi-encoder directory as an Embedder.
std::shared_ptr<Embedder> make_bi_encoder_embedder(const std::filesystem::path& model_dir, EngineOptions options = {});

/// Reconstructs an embedder from a collection's recorded identity: "bi-encoder:PATH", or "openai:MODEL@BASE_URL"
/// (an OpenAI-compatible endpoint; key from $OPENAI_API_KEY; rerank/reranker.hpp has an overload taking
/// RemoteOptions for the key and timeouts). Throws Error when unknown.
std::shared_ptr<Embedder> embedder_from_identity(const std::string& identity, EngineOptions options = {});

}  // namespace rerank

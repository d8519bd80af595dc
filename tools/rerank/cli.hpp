// Shared pieces of the `rerank` command-line front end. The CLI stays thin: it parses flags, reads and writes
// JSON lines, and calls the library.
#pragma once
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rerank/hub.hpp"
#include "rerank/opensearch.hpp"
#include "rerank/rerank.hpp"

namespace rerank::cli {

/// Flags every model-running command shares.
struct EngineFlags {
  std::string model;
  size_t max_length = 0;
  size_t batch_size = 32;
  size_t threads = 0;
  std::string precision = "fp32";
  std::string template_name = "auto", instruction;  ///< decoder rerankers' input template
  void add(CLI::App* cmd, bool with_batch = true);
  /// --template and --instruction (the commands that score pairs).
  void add_template(CLI::App* cmd);
  bool no_prefix_sharing = false;
  EngineOptions engine() const {
    return EngineOptions{threads, batch_size, nullptr, parse_precision(precision), !no_prefix_sharing};
  }
  PredictOptions predict() const { return PredictOptions{max_length, template_name, instruction}; }
};

/// Flags of the commands that run the two-stage pipeline on a collection (search, answer, eval end to end).
struct PipelineFlags {
  std::string collection, retriever = "bm25", reranker, bi_encoder, fusion = "rrf", vector_index = "auto";
  std::string precision = "fp32";
  std::string template_name = "auto", instruction;  ///< the local reranker's input template
  size_t k = 50, top_n = 0, threads = 0, max_length = 0, fusion_depth = 100;
  float rrf_k = 60, dense_weight = 0.5f;
  bool per_passage = false;
  RemoteOptions reranker_remote, embedder_remote;  ///< cohere:/openai: backends
  OpenSearchOptions opensearch;                    ///< --opensearch URL --index NAME (+ auth, TLS, timeout)
  /// Registers the flags; `top_n_help` describes --top-n's default for this command.
  void add(CLI::App* cmd, const std::string& top_n_help, bool with_collection = true);
  PipelineOptions options(size_t default_top_n) const;
  /// Sets the collection's query embedder for dense/hybrid (--bi-encoder, else the one the collection recorded).
  void attach_embedder(Collection& c) const;
  /// --opensearch / --index given, or --retriever opensearch (then $RERANK_OPENSEARCH_URL / _INDEX may name it).
  bool uses_opensearch() const;
  /// The first stage the flags name: the OpenSearch index, else the collection, opened into `holder` with its
  /// query embedder attached. InputError when both or neither are given.
  std::shared_ptr<FirstStage> open_first_stage(std::optional<Collection>& holder) const;
  /// The --reranker (null when none was given).
  std::shared_ptr<Reranker> make_reranker() const;
  BackendOptions backend(const RemoteOptions& remote) const;
};

/// Reads JSON-lines input. Calls `on_batch` with up to `chunk` parsed objects at a time (blank lines skipped).
/// Throws InputError("<source> line N: ...") for a line that is not a JSON object.
void read_json_lines(std::istream& in, const std::string& source, size_t chunk,
                     const std::function<void(std::vector<nlohmann::json>&, size_t first_line)>& on_batch);

/// A required string field of a JSON-lines object, with a message naming the line and field.
std::string field(const nlohmann::json& j, const char* key, const std::string& source, size_t line);

/// "=========>          " (width characters) for a fraction in [0, 1]: the bar of Progress and of rerank index.
std::string progress_bar(double frac, int width = 30);

/// A progress line on stderr, only when stderr is a terminal (quiet in pipes): "<label>: N done, R/s", or with a
/// total "<label> [=========>          ]  45%  135/300  12.3/s  ETA 0:12".
class Progress {
 public:
  explicit Progress(std::string label, size_t total = 0);
  void add(size_t n);
  void finish();
 private:
  void draw(bool final);
  std::string label_;
  bool tty_;
  size_t done_ = 0, total_ = 0;
  std::chrono::steady_clock::time_point start_, last_;
};

/// Writes one JSON value as a line to stdout.
void emit(const nlohmann::ordered_json& j);

/// Adds the OpenSearch connection flags (--opensearch, --index, auth, TLS, timeout) bound to `o`.
void add_opensearch_flags(CLI::App* cmd, OpenSearchOptions& o);

/// Every unsigned option (type UINT) of `app` and its subcommands, recursively, refuses a negative value with a
/// usage error. CLI11 2.1 converts "-1" for an unsigned option by wrapping it (`--top-k -1` was 2^64 - 1).
void reject_negative_unsigned(CLI::App& app);

void register_predict(CLI::App& app);
void register_embed(CLI::App& app);
void register_rank(CLI::App& app);
void register_tokenize(CLI::App& app);
void register_bench(CLI::App& app);
void register_index(CLI::App& app);
void register_search(CLI::App& app);
void register_pull(CLI::App& app);
void register_eval(CLI::App& app);
void register_serve(CLI::App& app);
void register_answer(CLI::App& app);

}  // namespace rerank::cli

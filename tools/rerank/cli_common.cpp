#include <unistd.h>
#include <algorithm>

#include "cli.hpp"
#include "util/files.hpp"

namespace rerank::cli {

void reject_negative_unsigned(CLI::App& app) {
  const CLI::Validator non_negative(
      [](std::string& value) -> std::string {
        const size_t at = value.find_first_not_of(" \t");
        return at != std::string::npos && value[at] == '-' ? "Value " + value + " is negative: this option takes a count or size >= 0" : "";
      },
      "");
  for (CLI::Option* opt : app.get_options()) {
    if (opt->get_type_name().rfind("UINT", 0) == 0) opt->check(non_negative);
  }
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) reject_negative_unsigned(*sub);
}

void EngineFlags::add(CLI::App* cmd, bool with_batch) {
  cmd->add_option("-m,--model", model, "Model directory in Hugging Face layout, or a Hub id ORG/NAME[@REVISION] (pulled into the HF cache)")
      ->required();
  cmd->add_option("--max-length", max_length,
                  "Tokens per input, special tokens included (default: the model's: max_seq_length, else "
                  "tokenizer model_max_length capped by max_position_embeddings)");
  if (with_batch) cmd->add_option("--batch-size", batch_size, "Inputs per forward pass")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--threads", threads, "Worker threads (0 = all cores)")->capture_default_str()->check(CLI::Range(0, 1024));
  cmd->add_option("--precision", precision,
                  "Matrix products: fp32 (exact, the reference), bf16 (AMX/AVX512-BF16, ~1e-2 of fp32), int8 "
                  "(per-channel weights, per-token activations)")
      ->capture_default_str()
      ->check(CLI::IsMember({"fp32", "bf16", "int8"}, CLI::ignore_case));
}

namespace {
void add_template_flags(CLI::App* cmd, std::string& template_name, std::string& instruction) {
  cmd->add_option("--template", template_name,
                  "Pair input of decoder rerankers: auto (the Qwen3-Reranker template for Qwen3 rerankers, plain pairs "
                  "otherwise), qwen3-reranker, none")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "qwen3-reranker", "none"}));
  cmd->add_option("--instruction", instruction,
                  "The reranker template's instruction (default: \"Given a web search query, retrieve relevant passages "
                  "that answer the query\")");
}
}  // namespace

void EngineFlags::add_template(CLI::App* cmd) {
  add_template_flags(cmd, template_name, instruction);
  cmd->add_flag("--no-prefix-sharing", no_prefix_sharing,
                "Decoder rerankers: run every pair whole instead of computing the shared template + query once");
}

void read_json_lines(std::istream& in, const std::string& source, size_t chunk,
                     const std::function<void(std::vector<nlohmann::json>&, size_t)>& on_batch) {
  std::vector<nlohmann::json> batch;
  std::string line;
  size_t lineno = 0, first = 1;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j;
    try {
      j = util::parse_json(line);
    } catch (const nlohmann::json::parse_error& e) {
      throw InputError(source + " line " + std::to_string(lineno) + ": invalid JSON (" + e.what() + ")");
    }
    if (!j.is_object()) throw InputError(source + " line " + std::to_string(lineno) + ": expected a JSON object");
    if (batch.empty()) first = lineno;
    batch.push_back(std::move(j));
    if (batch.size() >= chunk) {
      on_batch(batch, first);
      batch.clear();
    }
  }
  if (!batch.empty()) on_batch(batch, first);
}

std::string field(const nlohmann::json& j, const char* key, const std::string& source, size_t line) {
  auto it = j.find(key);
  if (it == j.end()) throw InputError(source + " line " + std::to_string(line) + ": missing field \"" + key + "\"");
  if (!it->is_string()) throw InputError(source + " line " + std::to_string(line) + ": field \"" + key + "\" must be a string");
  return it->get<std::string>();
}

std::string progress_bar(double frac, int width) {
  const int filled = static_cast<int>(std::clamp(frac, 0.0, 1.0) * width);
  std::string bar(static_cast<size_t>(filled), '=');
  if (filled < width) bar += '>' + std::string(static_cast<size_t>(width - 1 - filled), ' ');
  return bar;
}

Progress::Progress(std::string label, size_t total)
    : label_(std::move(label)), tty_(isatty(STDERR_FILENO) == 1), total_(total), start_(std::chrono::steady_clock::now()),
      last_(start_) {}

void Progress::add(size_t n) {
  done_ += n;
  if (!tty_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_ < std::chrono::milliseconds(200) && done_ != total_) return;
  last_ = now;
  draw(false);
}

void Progress::draw(bool final) {
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = s > 0 ? static_cast<double>(done_) / s : 0.0;
  if (total_ == 0) {
    if (final) std::fprintf(stderr, "\r%s: %zu done in %.2f s (%.1f/s)\n", label_.c_str(), done_, s, rate);
    else std::fprintf(stderr, "\r%s: %zu done, %.1f/s ", label_.c_str(), done_, rate);
    std::fflush(stderr);
    return;
  }
  const double frac = std::min(1.0, static_cast<double>(done_) / static_cast<double>(total_));
  const std::string bar = progress_bar(frac);
  const double left = rate > 0 ? static_cast<double>(total_ - std::min(done_, total_)) / rate : 0.0;
  const int t = static_cast<int>(final ? s : left);
  std::fprintf(stderr, "\r%s [%s] %3.0f%%  %zu/%zu  %.1f/s  %s %d:%02d ", label_.c_str(), bar.c_str(), frac * 100, done_, total_,
               rate, final ? "took" : "ETA", t / 60, t % 60);
  if (final) std::fprintf(stderr, "\n");
  std::fflush(stderr);
}

void Progress::finish() {
  if (!tty_ || done_ == 0) return;
  draw(true);
}

void emit(const nlohmann::ordered_json& j) {
  std::string s = j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  s.push_back('\n');
  std::fwrite(s.data(), 1, s.size(), stdout);
}

}  // namespace rerank::cli

namespace rerank::cli {

void PipelineFlags::add(CLI::App* cmd, const std::string& top_n_help, bool with_collection) {
  if (with_collection) {
    cmd->add_option("-c,--collection", collection, "Collection directory (made by rerank index); or --opensearch URL --index NAME");
    add_opensearch_flags(cmd, opensearch);
  }
  cmd->add_option("--retriever", retriever,
                  "First stage: bm25, dense or hybrid (on the collection or the OpenSearch index); opensearch = bm25 on "
                  "the OpenSearch index (--opensearch, else $RERANK_OPENSEARCH_URL)")
      ->capture_default_str()
      ->check(CLI::IsMember({"bm25", "dense", "hybrid", "opensearch"}, CLI::ignore_case));
  cmd->add_option("-k,--k", k, "First-stage candidates")->capture_default_str()->check(CLI::Range(1, 1000000));
  cmd->add_option("--reranker", reranker,
                  "Second stage: cross-encoder directory, Hub id ORG/NAME, or cohere:MODEL (Cohere-compatible API)");
  cmd->add_option("-n,--top-n", top_n, top_n_help);
  cmd->add_option("--bi-encoder", bi_encoder,
                  "Query encoder for dense/hybrid: directory, Hub id or openai:MODEL (default: the collection's)");
  cmd->add_flag("--per-passage", per_passage, "Rank passages instead of documents (a document's best passage by default)");
  cmd->add_option("--fusion", fusion, "Hybrid fusion: rrf or weighted")->capture_default_str()
      ->check(CLI::IsMember({"rrf", "weighted"}, CLI::ignore_case));
  cmd->add_option("--rrf-k", rrf_k, "RRF constant")->capture_default_str();
  cmd->add_option("--dense-weight", dense_weight, "Weighted fusion: weight of the dense scores (BM25 gets 1 - w)")
      ->capture_default_str()->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--fusion-depth", fusion_depth, "Hybrid: each retriever's depth before fusion (at least k)")->capture_default_str();
  cmd->add_option("--vector-index", vector_index, "auto, exact or hnsw (auto: exact up to 50,000 passages)")->capture_default_str();
  cmd->add_option("--max-length", max_length, "Cross-encoder tokens per pair (default: the model's)");
  add_template_flags(cmd, template_name, instruction);
  cmd->add_option("--threads", threads, "Worker threads for the models (0 = all cores)")->check(CLI::Range(0, 1024));
  cmd->add_option("--precision", precision, "Local models' matrix products: fp32, bf16 or int8")->capture_default_str()
      ->check(CLI::IsMember({"fp32", "bf16", "int8"}, CLI::ignore_case));
  cmd->add_option("--reranker-url", reranker_remote.base_url, "cohere: base URL")->envname("COHERE_BASE_URL")->group("Remote backends");
  cmd->add_option("--reranker-key", reranker_remote.api_key, "cohere: API key")->envname("COHERE_API_KEY")->group("Remote backends");
  cmd->add_option("--bi-encoder-url", embedder_remote.base_url, "openai: base URL, e.g. http://127.0.0.1:8080/v1")
      ->envname("OPENAI_BASE_URL")->group("Remote backends");
  cmd->add_option("--bi-encoder-key", embedder_remote.api_key, "openai: API key")->envname("OPENAI_API_KEY")->group("Remote backends");
  cmd->add_option("--remote-timeout", reranker_remote.timeout_seconds, "Seconds per remote request")
      ->capture_default_str()->check(CLI::PositiveNumber)->group("Remote backends");
  cmd->add_option("--remote-attempts", reranker_remote.max_attempts, "Tries on 429/5xx/timeouts (exponential backoff)")
      ->capture_default_str()->check(CLI::Range(1, 20))->group("Remote backends");
}

void add_opensearch_flags(CLI::App* cmd, OpenSearchOptions& o) {
  const char* g = "OpenSearch (first stage)";
  cmd->add_option("--opensearch", o.url, "OpenSearch base URL, e.g. http://127.0.0.1:9200 ($RERANK_OPENSEARCH_URL)")->group(g);
  cmd->add_option("--index", o.index, "OpenSearch index ($RERANK_OPENSEARCH_INDEX)")->group(g);
  cmd->add_option("--opensearch-user", o.user, "Basic authentication user ($RERANK_OPENSEARCH_USER)")->group(g);
  cmd->add_option("--opensearch-password", o.password, "Basic authentication password ($RERANK_OPENSEARCH_PASSWORD)")->group(g);
  cmd->add_option("--opensearch-api-key", o.api_key, "Sent as \"Authorization: ApiKey KEY\" ($RERANK_OPENSEARCH_API_KEY)")->group(g);
  cmd->add_option("--opensearch-ca-cert", o.ca_cert, "PEM bundle to verify https with ($RERANK_OPENSEARCH_CA_CERT)")->group(g);
  cmd->add_flag("--opensearch-insecure", o.insecure, "Do not verify https certificates ($RERANK_OPENSEARCH_INSECURE=1)")->group(g);
  cmd->add_option("--opensearch-timeout", o.timeout_seconds, "Seconds per request ($RERANK_OPENSEARCH_TIMEOUT, else 30)")
      ->check(CLI::PositiveNumber)->group(g);
}

bool PipelineFlags::uses_opensearch() const { return !opensearch.url.empty() || !opensearch.index.empty() || retriever == "opensearch"; }

std::shared_ptr<FirstStage> PipelineFlags::open_first_stage(std::optional<Collection>& holder) const {
  if (uses_opensearch()) {
    if (!collection.empty()) throw InputError("give either --collection DIR or --opensearch URL --index NAME, not both");
    if (per_passage) throw InputError("--per-passage: an OpenSearch index has one entry per document, no passages");
    std::shared_ptr<Embedder> embedder;
    const Retriever r = parse_retriever(retriever == "opensearch" ? "bm25" : retriever);
    if (r != Retriever::Bm25 && !bi_encoder.empty()) embedder = rerank::make_embedder(bi_encoder, backend(embedder_remote));
    return open_opensearch(opensearch, embedder, backend(embedder_remote).engine);
  }
  if (collection.empty()) throw InputError("give --collection DIR (made by rerank index) or --opensearch URL --index NAME");
  CollectionOptions runtime;
  runtime.vector_index = vector_index;
  holder.emplace(Collection::open(collection, runtime));
  attach_embedder(*holder);
  return collection_first_stage(*holder);
}

PipelineOptions PipelineFlags::options(size_t default_top_n) const {
  PipelineOptions po;
  po.retriever = parse_retriever(retriever == "opensearch" ? "bm25" : retriever);
  po.fusion = parse_fusion(fusion);
  po.k = k;
  po.top_n = top_n ? top_n : default_top_n;
  po.per_passage = per_passage;
  po.rrf_k = rrf_k;
  po.dense_weight = dense_weight;
  po.fusion_depth = fusion_depth;
  return po;
}

BackendOptions PipelineFlags::backend(const RemoteOptions& remote) const {
  BackendOptions b;
  b.engine = EngineOptions{threads, 32, nullptr, parse_precision(precision)};
  b.predict.max_length = max_length;
  b.predict.template_name = template_name;
  b.predict.instruction = instruction;
  b.remote = remote;
  b.remote.timeout_seconds = reranker_remote.timeout_seconds;
  b.remote.max_attempts = reranker_remote.max_attempts;
  return b;
}

void PipelineFlags::attach_embedder(Collection& c) const {
  if (retriever == "opensearch" || parse_retriever(retriever) == Retriever::Bm25) return;
  BackendOptions b = backend(embedder_remote);
  if (!bi_encoder.empty()) {
    c.set_embedder(rerank::make_embedder(bi_encoder, b));
    return;
  }
  const std::string id = c.stats().embedder;
  if (id.empty())
    throw InputError("collection " + collection + " has no embeddings: index it with --bi-encoder for dense/hybrid search");
  c.set_embedder(embedder_from_identity(id, b));  // openai:MODEL@URL: the recorded URL, --bi-encoder-key
}

std::shared_ptr<Reranker> PipelineFlags::make_reranker() const {
  if (reranker.empty()) return nullptr;
  return rerank::make_reranker(reranker, backend(reranker_remote));
}

}  // namespace rerank::cli

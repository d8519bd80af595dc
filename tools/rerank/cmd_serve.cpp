// rerank serve: the HTTP server (Cohere / TEI / Jina / OpenAI routes) in front of one or more models.
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include <atomic>
#include <thread>

#include "cli.hpp"
#include "rerank/server.hpp"

namespace rerank::cli {

namespace {
int g_signal_pipe[2] = {-1, -1};
void on_signal(int sig) {
  const unsigned char c = static_cast<unsigned char>(sig);
  const int saved = errno;
  if (::write(g_signal_pipe[1], &c, 1) < 0) {
  }
  errno = saved;
}
}  // namespace

void register_serve(CLI::App& app) {
  auto o = std::make_shared<ServerOptions>();
  auto precision = std::make_shared<std::string>("fp32");
  auto no_batching = std::make_shared<bool>(false);
  auto quiet = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("serve", "Serve models over HTTP: Cohere Rerank, Hugging Face TEI, Jina and OpenAI embeddings APIs");
  cmd->footer(
      "Routes: POST /v2/rerank, /v1/rerank (Cohere; Jina), /rerank, /embed, /predict, /tokenize (TEI),\n"
      "/v1/embeddings (OpenAI); GET /info, /health, /metrics (Prometheus), /v1/models; with --collection,\n"
      "POST /search {query, k?, top_n?, retriever?, return_documents?} (first stage + reranking). Errors are JSON\n"
      "{\"message\": ...} with a 4xx status; 429 + Retry-After when the queue is full.\n"
      "A request's \"model\" field picks a model by name (directory basename or Hub id); default: the first of the\n"
      "kind the route needs. One JSON access-log line per request on stderr. SIGINT/SIGTERM: finish in-flight\n"
      "requests, exit 0.\n\n"
      "Example:\n"
      "  rerank serve -m cross-encoder/ms-marco-MiniLM-L-6-v2 -m sentence-transformers/all-MiniLM-L6-v2 --port 8080\n"
      "  curl -s localhost:8080/v2/rerank -d '{\"query\": \"reset password\", \"documents\": [\"Click Forgot Password.\", \"Our office hours\"]}'\n"
      "  rerank serve -m cross-encoder/ms-marco-MiniLM-L-6-v2 --collection my-coll --port 8080\n"
      "  curl -s localhost:8080/search -d '{\"query\": \"reset password\", \"k\": 50, \"top_n\": 5}'");
  cmd->add_option("-m,--model", o->models, "Model directory or Hub id ORG/NAME[@REVISION]; repeat for several models");
  cmd->add_option("-c,--collection", o->collection,
                  "Collection directory (rerank index) to serve POST /search on, reranked by the first cross-encoder");
  cmd->add_option("--collection-workers", o->collection_workers, "/search requests served at once (one Collection handle each)")
      ->capture_default_str()->check(CLI::Range(1, 256));
  add_opensearch_flags(cmd, o->opensearch);
  cmd->add_option("--host", o->host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", o->port, "Port (0 = any free port, printed on stderr)")->capture_default_str()->check(CLI::Range(0, 65535));
  cmd->add_option("--api-key", o->api_key, "Require 'Authorization: Bearer KEY' on every route but /health (default: $RERANK_API_KEY)")
      ->envname("RERANK_API_KEY");
  cmd->add_option("--max-batch-tokens", o->max_batch_tokens, "Token budget of one forward pass")->capture_default_str()->check(CLI::Range(1, 1 << 24));
  cmd->add_option("--max-concurrent", o->max_concurrent, "HTTP worker threads (connections served at once)")->capture_default_str()->check(CLI::Range(1, 4096));
  cmd->add_option("--max-queue", o->max_queue, "Requests waiting per model before 429")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--max-documents", o->max_documents, "Documents / inputs per request (413 beyond)")->capture_default_str()->check(CLI::Range(1, 1 << 24));
  cmd->add_option("--max-request-bytes", o->max_request_bytes, "Request body bytes (413 beyond)")->capture_default_str()->check(CLI::Range(1, 1 << 30));
  cmd->add_option("--read-timeout", o->read_timeout_seconds, "Seconds a client may stay silent in the middle of a request")
      ->capture_default_str()->check(CLI::Range(1, 3600));
  cmd->add_option("--max-request-tokens", o->max_request_tokens, "Tokens one request may send to the model (413 beyond)")->capture_default_str()->check(CLI::Range(1, 1 << 30));
  cmd->add_flag("--no-batching", *no_batching, "One request per forward pass (to measure what batching gains)");
  cmd->add_flag("--chunking", o->chunking, "Chunk-and-max for long documents by default (request field \"chunking\" overrides)");
  cmd->add_option("--chunk-overlap", o->chunk_overlap, "Document tokens shared by consecutive chunks")->capture_default_str()->check(CLI::Range(0, 1 << 16));
  cmd->add_option("--threads", o->threads, "Engine threads per model (0 = all cores)")->capture_default_str()->check(CLI::Range(0, 1024));
  cmd->add_option("--precision", *precision, "Matrix products: fp32 (exact), bf16 or int8")
      ->capture_default_str()
      ->check(CLI::IsMember({"fp32", "bf16", "int8"}, CLI::ignore_case));
  cmd->add_flag("--quiet", *quiet, "No access log");
  cmd->callback([o, precision, no_batching, quiet] {
    o->precision = parse_precision(*precision);
    o->batching = !*no_batching;
    o->access_log = !*quiet;
    // SIGINT/SIGTERM: the handler (async-signal-safe) writes the signal number to a pipe; a thread reads it and
    // calls stop(). (Blocking the signals instead would not cover threads libraries start before main.)
    if (::pipe(g_signal_pipe) != 0) throw Error("serve: cannot create a pipe");
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    Server server(*o);
    const int port = server.bind();
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
    std::fprintf(stderr, "rerank serve: listening on http://%s:%d (%zu model%s, batching %s%s%s)\n", o->host.c_str(), port,
                 o->models.size(), o->models.size() == 1 ? "" : "s", o->batching ? "on" : "off",
                 o->collection.empty() && o->opensearch.url.empty() ? "" : ", /search on ",
                 o->collection.empty() ? (o->opensearch.url + "/" + o->opensearch.index).c_str() : o->collection.c_str());
    std::thread waiter([&] {
      unsigned char sig = 0;
      while (::read(g_signal_pipe[0], &sig, 1) < 0 && errno == EINTR) {
      }
      if (sig == 0) return;  // serve() ended on its own
      ::signal(SIGINT, SIG_DFL);  // a second signal ends the process at once
      ::signal(SIGTERM, SIG_DFL);
      std::fprintf(stderr, "rerank serve: %s, finishing in-flight requests\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
      server.stop();
    });
    server.serve();
    const unsigned char zero = 0;
    if (::write(g_signal_pipe[1], &zero, 1) < 0) {  // wakes the waiter when serve() ended on its own
    }
    waiter.join();
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    std::fprintf(stderr, "rerank serve: stopped\n");
  });
}

}  // namespace rerank::cli

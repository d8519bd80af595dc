// rerank serve: the HTTP server (Cohere / TEI / Jina / OpenAI routes) in front of one or more models.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "cli.hpp"
#include "rerank/server.hpp"

namespace rerank::cli {

namespace {
int g_signal_pipe[2] = {-1, -1};

/// The next signal number written to the pipe (0: serve() ended on its own), or -1 after `timeout_ms` (< 0: none).
int wait_signal(int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    int wait = -1;
    if (timeout_ms >= 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      wait = static_cast<int>(std::max<int64_t>(0, left.count()));
    }
    pollfd p{g_signal_pipe[0], POLLIN, 0};
    const int n = ::poll(&p, 1, wait);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    unsigned char sig = 0;
    const ssize_t r = ::read(g_signal_pipe[0], &sig, 1);
    if (r < 0 && errno == EINTR) continue;
    return r == 1 ? sig : 0;
  }
}

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
  auto no_warmup = std::make_shared<bool>(false);
  auto drain_seconds = std::make_shared<double>(5.0);
  CLI::App* cmd = app.add_subcommand("serve", "Serve models over HTTP: Cohere Rerank, Hugging Face TEI, Jina and OpenAI embeddings APIs");
  cmd->footer(
      "Routes: POST /v2/rerank, /v1/rerank (Cohere; Jina), /rerank, /embed, /predict, /tokenize (TEI),\n"
      "/v1/embeddings (OpenAI); GET /info, /health, /metrics (Prometheus), /v1/models; with --collection,\n"
      "POST /search {query, k?, top_n?, retriever?, return_documents?} (first stage + reranking). Errors are JSON\n"
      "{\"message\": ...} with a 4xx status; 429 + Retry-After when the queue is full.\n"
      "A request's \"model\" field picks a model by name (directory basename or Hub id); default: the first of the\n"
      "kind the route needs. One JSON access-log line per request on stderr.\n"
      "GET /health is liveness (200 while the process serves), GET /ready (or /readyz) readiness: 200 once every\n"
      "model ran a warm-up pass, 503 while starting and while draining; neither needs the API key.\n"
      "SIGTERM: /ready turns 503 and requests (new connections too) are still served for --drain-seconds, then\n"
      "the server stops accepting, finishes in-flight requests and exits 0. SIGINT (or a second SIGTERM): the\n"
      "same without the drain period.\n\n"
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
  cmd->add_flag("--no-warmup", *no_warmup, "No warm-up pass per model: GET /ready answers 200 as soon as the server listens");
  cmd->add_option("--drain-seconds", *drain_seconds,
                  "On SIGTERM, seconds to keep serving (new connections too) with GET /ready at 503 before stopping, so "
                  "that load balancers and Kubernetes take the replica out first")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3600.0));
  cmd->callback([o, precision, no_batching, quiet, no_warmup, drain_seconds] {
    o->precision = parse_precision(*precision);
    o->batching = !*no_batching;
    o->access_log = !*quiet;
    o->warmup = !*no_warmup;
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
    const double drain = *drain_seconds;
    std::thread waiter([&server, drain] {
      const int sig = wait_signal(-1);
      if (sig <= 0) return;  // serve() ended on its own
      if (sig == SIGTERM && drain > 0) {
        std::fprintf(stderr, "rerank serve: SIGTERM, draining for %g s (/ready answers 503, requests are still served)\n",
                     drain);
        server.drain();
        const int again = wait_signal(static_cast<int>(drain * 1000));
        if (again == 0) return;
      }
      ::signal(SIGINT, SIG_DFL);  // from now on a signal ends the process at once
      ::signal(SIGTERM, SIG_DFL);
      server.drain();
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

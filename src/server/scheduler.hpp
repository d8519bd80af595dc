// scheduler.hpp — internal: dynamic batching for one model. HTTP threads submit already-tokenized inputs; one
// scheduler thread owns the model's CrossEncoder (or BiEncoder), gathers inputs from the queued requests (oldest
// first) up to a token budget, runs one forward pass and hands each request its outputs.
#pragma once
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "rerank/bi_encoder.hpp"
#include "rerank/cross_encoder.hpp"
#include "server/metrics.hpp"

namespace rerank::server {

struct SchedulerOptions {
  size_t max_batch_tokens = 16384;
  size_t max_queue = 256;
  bool batching = true;
  size_t threads = 0;
  Precision precision = Precision::FP32;
  std::function<void()> before_batch;
  /// Run once on the scheduler thread before any request (a warm-up pass: scratch buffers, kernel primitives,
  /// the weights' pages); empty = none. warmed() is true once it ran (or right away without one).
  std::vector<Encoding> warmup;
  std::function<void()> before_warmup;  ///< test hook: runs on the scheduler thread before the warm-up pass
};

/// What one request went through, for the access log.
struct BatchInfo {
  size_t batches = 0;         ///< forward passes that carried some of its inputs
  size_t max_batch_requests = 0;  ///< most requests merged into one of those passes
  size_t max_batch_pairs = 0;     ///< largest of those passes, in inputs
  double queue_ms = 0;        ///< wait before its first pass
  size_t tokens = 0;          ///< its tokens
};

class Scheduler {
 public:
  Scheduler(std::string name, std::shared_ptr<const Model> model, SchedulerOptions options, Metrics& metrics);
  ~Scheduler();

  /// Runs `inputs` (pairs for a cross-encoder, texts for a bi-encoder) and returns one vector per input: logits
  /// for a cross-encoder, the embedding for a bi-encoder. Blocks until done. Throws ApiError 429 when the queue is
  /// full, 503 when stopping.
  std::vector<std::vector<float>> run(std::vector<Encoding> inputs, BatchInfo* info = nullptr);

  /// Stops accepting, finishes the queued work, joins the thread. Idempotent.
  void stop();
  size_t queue_depth() const;
  /// Whether the warm-up pass is over (successful or not); warmup_error() says why it failed ("" = it did not).
  bool warmed() const;
  std::string warmup_error() const;

 private:
  struct Job {
    std::vector<Encoding> inputs;
    std::vector<std::vector<float>> outputs;
    size_t next = 0;   ///< first input not yet taken by a batch
    size_t done = 0;   ///< inputs whose outputs are in
    bool finished = false;
    std::exception_ptr error;
    std::chrono::steady_clock::time_point enqueued;
    BatchInfo info;
  };
  void loop();
  void run_warmup(CrossEncoder* ce, BiEncoder* be);

  std::string name_;
  std::shared_ptr<const Model> model_;
  SchedulerOptions options_;
  Metrics& metrics_;
  mutable std::mutex mu_;
  std::condition_variable cv_work_, cv_done_;
  std::deque<Job*> queue_;
  bool stopping_ = false;
  bool warmed_ = false;        // guarded by mu_
  std::string warmup_error_;   // guarded by mu_
  std::thread thread_;
};

}  // namespace rerank::server

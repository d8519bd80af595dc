// scheduler.cpp — dynamic batching: one thread per model gathers queued inputs under a token budget.
//
// Pairs are packed without padding, so a pair's score does not depend on the batch it lands in: merging requests
// changes throughput, never results.
#include "server/scheduler.hpp"

#include <algorithm>

#include "server/errors.hpp"

namespace rerank::server {

Scheduler::Scheduler(std::string name, std::shared_ptr<const Model> model, SchedulerOptions options, Metrics& metrics)
    : name_(std::move(name)), model_(std::move(model)), options_(std::move(options)), metrics_(metrics) {
  if (options_.max_batch_tokens == 0) options_.max_batch_tokens = 1;
  // Without a warm-up pass the model is ready as soon as the server starts (not when the thread got going).
  warmed_ = options_.warmup.empty();
  thread_ = std::thread([this] { loop(); });
}

Scheduler::~Scheduler() { stop(); }

void Scheduler::stop() {
  {
    std::lock_guard<std::mutex> g(mu_);
    stopping_ = true;
  }
  cv_work_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

size_t Scheduler::queue_depth() const {
  std::lock_guard<std::mutex> g(mu_);
  return queue_.size();
}

bool Scheduler::warmed() const {
  std::lock_guard<std::mutex> g(mu_);
  return warmed_;
}

std::string Scheduler::warmup_error() const {
  std::lock_guard<std::mutex> g(mu_);
  return warmup_error_;
}

// Not a request: no metrics, no before_batch hook. A failure is kept for /ready (the model stays loaded and
// requests are still tried, each failing or not on its own).
void Scheduler::run_warmup(CrossEncoder* ce, BiEncoder* be) {
  std::string error;
  if (!options_.warmup.empty()) {
    try {
      if (options_.before_warmup) options_.before_warmup();
      if (ce)
        ce->predict_encoded(options_.warmup);
      else
        be->encode_encoded(options_.warmup);
    } catch (const std::exception& e) {
      error = e.what();
      if (error.empty()) error = "unknown error";
    } catch (...) {
      error = "unknown error";
    }
    options_.warmup.clear();
  }
  std::lock_guard<std::mutex> g(mu_);
  warmed_ = true;
  warmup_error_ = std::move(error);
}

std::vector<std::vector<float>> Scheduler::run(std::vector<Encoding> inputs, BatchInfo* info) {
  Job job;
  job.outputs.resize(inputs.size());
  for (const Encoding& e : inputs) job.info.tokens += e.ids.size();
  job.inputs = std::move(inputs);
  if (job.inputs.empty()) return {};
  std::unique_lock<std::mutex> lk(mu_);
  if (stopping_) throw ApiError(503, "the server is shutting down", 1);
  if (queue_.size() >= options_.max_queue)
    throw ApiError(429, "too many requests queued for model '" + name_ + "' (" + std::to_string(queue_.size()) +
                            "); retry later", 1);
  job.enqueued = std::chrono::steady_clock::now();
  queue_.push_back(&job);
  cv_work_.notify_one();
  cv_done_.wait(lk, [&] { return job.finished; });
  if (info) *info = job.info;
  if (job.error) std::rethrow_exception(job.error);
  return std::move(job.outputs);
}

void Scheduler::loop() {
  EngineOptions eo;
  eo.threads = options_.threads;
  eo.batch_size = size_t{1} << 30;  // the token budget bounds a pass; one predict call = one forward pass
  eo.precision = options_.precision;
  std::unique_ptr<CrossEncoder> ce;
  std::unique_ptr<BiEncoder> be;
  if (model_->info().has_classifier)
    ce = std::make_unique<CrossEncoder>(model_, eo);
  else
    be = std::make_unique<BiEncoder>(model_, eo);
  run_warmup(ce.get(), be.get());

  struct Slot {
    Job* job;
    size_t index;
  };
  std::vector<Slot> slots;
  std::vector<Encoding> batch;
  std::vector<Job*> jobs;  // distinct jobs in this batch
  for (;;) {
    slots.clear();
    batch.clear();
    jobs.clear();
    size_t tokens = 0;
    std::vector<double> queue_waits;
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_work_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) break;  // stopping and drained
      const auto now = std::chrono::steady_clock::now();
      bool full = false;
      while (!queue_.empty() && !full) {
        Job* job = queue_.front();
        const size_t first = job->next;
        while (job->next < job->inputs.size()) {
          const size_t t = job->inputs[job->next].ids.size();
          if (!slots.empty() && tokens + t > options_.max_batch_tokens) {
            full = true;
            break;
          }
          tokens += t;
          slots.push_back({job, job->next});
          batch.push_back(std::move(job->inputs[job->next]));
          ++job->next;
        }
        if (job->next == first) break;  // not even its first input fits: next pass
        if (first == 0) {
          job->info.queue_ms = std::chrono::duration<double, std::milli>(now - job->enqueued).count();
          queue_waits.push_back(job->info.queue_ms / 1000.0);
        }
        jobs.push_back(job);
        if (job->next == job->inputs.size()) queue_.pop_front();
        if (!options_.batching) break;
      }
    }
    for (double w : queue_waits) metrics_.observe_queue_time(name_, w);
    if (options_.before_batch) options_.before_batch();
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::vector<float>> outs;
    std::exception_ptr error;
    try {
      if (ce) {
        auto preds = ce->predict_encoded(std::move(batch));
        outs.reserve(preds.size());
        for (auto& p : preds) outs.push_back(std::move(p.logits));
      } else {
        outs = be->encode_encoded(batch);
      }
      if (outs.size() != slots.size()) throw std::runtime_error("scheduler: output count mismatch");
    } catch (...) {
      error = std::current_exception();
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    metrics_.observe_batch(name_, slots.size(), jobs.size(), tokens, secs);
    {
      std::lock_guard<std::mutex> g(mu_);
      for (Job* job : jobs) {
        ++job->info.batches;
        job->info.max_batch_requests = std::max(job->info.max_batch_requests, jobs.size());
        job->info.max_batch_pairs = std::max(job->info.max_batch_pairs, slots.size());
      }
      for (size_t i = 0; i < slots.size(); ++i) {
        Job* job = slots[i].job;
        if (error) {
          if (!job->error) job->error = error;
        } else {
          job->outputs[slots[i].index] = std::move(outs[i]);
        }
        ++job->done;
      }
      for (Job* job : jobs) {
        if (job->done == job->inputs.size()) {
          // A failed job may still be queued with inputs left: drop them.
          if (!job->finished) job->finished = true;
        } else if (job->error && job->next < job->inputs.size()) {
          // Skip the rest of a failed job.
          auto it = std::find(queue_.begin(), queue_.end(), job);
          if (it != queue_.end()) queue_.erase(it);
          job->done += job->inputs.size() - job->next;
          job->next = job->inputs.size();
          if (job->done == job->inputs.size()) job->finished = true;
        }
      }
    }
    cv_done_.notify_all();
  }
}

}  // namespace rerank::server

// rerank._rerank: what encoders.cpp and collection.cpp share: the model handle and the serialized engine.
#pragma once
#include <nanobind/nanobind.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>

#include "rerank/cross_encoder.hpp"
#include "rerank/error.hpp"
#include "rerank/model.hpp"

namespace rerank::python {

struct ModelHandle {
  std::shared_ptr<const Model> model;
};

/// Runs `work(begin, end)` over [0, n) in chunks of `chunk`, without the GIL and under `mu`; handles signals
/// between chunks (a KeyboardInterrupt raised by a handler propagates as nanobind::python_error).
template <class Work>
inline void chunked(size_t n, size_t chunk, std::mutex& mu, Work&& work) {
  for (size_t begin = 0; begin < n; begin += chunk) {
    const size_t end = std::min(n, begin + chunk);
    {
      nanobind::gil_scoped_release unlocked;
      std::lock_guard<std::mutex> lock(mu);
      work(begin, end);
    }
    if (end < n && PyErr_CheckSignals() != 0) throw nanobind::python_error();
  }
}

inline EngineOptions engine_options(size_t threads, const std::string& precision) {
  EngineOptions o;
  o.threads = threads;
  o.precision = parse_precision(precision);
  o.pool = std::make_shared<ThreadPool>(threads);
  return o;
}

inline size_t check_batch_size(long long batch_size) {
  if (batch_size <= 0) throw InputError("batch_size must be a positive integer, got " + std::to_string(batch_size));
  return static_cast<size_t>(batch_size);
}

/// One C++ encoder (rebuilt on the same thread pool when the batch size changes) behind a mutex.
template <class Encoder>
class Engine {
 public:
  Engine(const ModelHandle& m, size_t threads, const std::string& precision)
      : model_(m.model), options_(engine_options(threads, precision)) {
    encoder_ = std::make_unique<Encoder>(model_, options_);  // validates (a cross-encoder needs a classifier)
  }
  Encoder& at_batch_size(size_t batch_size) {  // call with mu held
    if (batch_size != options_.batch_size) {
      options_.batch_size = batch_size;
      encoder_ = std::make_unique<Encoder>(model_, options_);
    }
    return *encoder_;
  }
  std::mutex& mu() { return mu_; }
  size_t threads() const { return options_.pool->size(); }
  const ModelInfo& info() const { return model_->info(); }

 private:
  std::shared_ptr<const Model> model_;
  EngineOptions options_;
  std::unique_ptr<Encoder> encoder_;
  std::mutex mu_;
};

using PyCrossEncoder = Engine<CrossEncoder>;

}  // namespace rerank::python

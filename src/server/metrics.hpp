// metrics.hpp — internal: Prometheus counters and histograms of the server (text exposition format 0.0.4).
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace rerank::server {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}
  void observe(double v);
  /// Appends `name_bucket{labels,le=...}`, `name_sum`, `name_count` lines.
  void render(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  ///< per bucket (not cumulative); last = +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

class Metrics {
 public:
  Metrics();
  void observe_request(const std::string& route, int status, double seconds);
  /// One forward pass: pairs (or texts), the requests it served, its tokens, its duration.
  void observe_batch(const std::string& model, size_t pairs, size_t requests, size_t tokens, double seconds);
  void observe_queue_time(const std::string& model, double seconds);
  /// Prometheus text.
  std::string render() const;
  /// Gauges read at render time (e.g. queue depth per model).
  void add_gauge(std::string name, std::string help, std::function<std::vector<std::pair<std::string, double>>()> fn);

  uint64_t requests() const { return requests_.load(); }
  uint64_t batches() const { return batches_.load(); }
  uint64_t merged_batches() const { return merged_batches_.load(); }
  uint64_t max_requests_per_batch() const { return max_requests_.load(); }

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> request_counts_;
  std::map<std::string, Histogram> latency_;       // by route
  std::map<std::string, Histogram> batch_pairs_;   // by model
  std::map<std::string, Histogram> batch_requests_;
  std::map<std::string, Histogram> batch_tokens_;
  std::map<std::string, Histogram> batch_seconds_;
  std::map<std::string, Histogram> queue_seconds_;
  struct Gauge {
    std::string name, help;
    std::function<std::vector<std::pair<std::string, double>>()> fn;
  };
  std::vector<Gauge> gauges_;
  std::atomic<uint64_t> requests_{0}, batches_{0}, merged_batches_{0}, max_requests_{0};
};

}  // namespace rerank::server

// metrics.cpp — Prometheus text exposition of request counts, latencies, batch sizes and queue times.
#include "server/metrics.hpp"

#include <cstdio>

namespace rerank::server {

namespace {

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

const std::vector<double> kSeconds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
const std::vector<double> kCounts = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096};
const std::vector<double> kTokens = {64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536};

Histogram& slot(std::map<std::string, Histogram>& m, const std::string& key, const std::vector<double>& bounds) {
  auto it = m.find(key);
  if (it == m.end()) it = m.emplace(key, Histogram(bounds)).first;
  return it->second;
}

std::string escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '\\' || c == '"') o.push_back('\\');
    if (c == '\n') { o += "\\n"; continue; }
    o.push_back(c);
  }
  return o;
}

void render_family(std::string& out, const std::string& name, const char* help, const char* label,
                   const std::map<std::string, Histogram>& m) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " histogram\n";
  for (const auto& [k, h] : m) h.render(out, name, std::string(label) + "=\"" + escape(k) + "\"");
}

}  // namespace

void Histogram::observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += v;
  ++count_;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  uint64_t cum = 0;
  const std::string sep = labels.empty() ? "" : ",";
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cum += counts_[i];
    out += name + "_bucket{" + labels + sep + "le=\"" + num(bounds_[i]) + "\"} " + std::to_string(cum) + "\n";
  }
  cum += counts_.back();
  out += name + "_bucket{" + labels + sep + "le=\"+Inf\"} " + std::to_string(cum) + "\n";
  out += name + "_sum{" + labels + "} " + num(sum_) + "\n";
  out += name + "_count{" + labels + "} " + std::to_string(count_) + "\n";
}

Metrics::Metrics() = default;

void Metrics::observe_request(const std::string& route, int status, double seconds) {
  ++requests_;
  std::lock_guard<std::mutex> g(mu_);
  ++request_counts_[{route, status}];
  slot(latency_, route, kSeconds).observe(seconds);
}

void Metrics::observe_batch(const std::string& model, size_t pairs, size_t requests, size_t tokens, double seconds) {
  ++batches_;
  if (requests > 1) ++merged_batches_;
  uint64_t prev = max_requests_.load();
  while (requests > prev && !max_requests_.compare_exchange_weak(prev, requests)) {
  }
  std::lock_guard<std::mutex> g(mu_);
  slot(batch_pairs_, model, kCounts).observe(static_cast<double>(pairs));
  slot(batch_requests_, model, kCounts).observe(static_cast<double>(requests));
  slot(batch_tokens_, model, kTokens).observe(static_cast<double>(tokens));
  slot(batch_seconds_, model, kSeconds).observe(seconds);
}

void Metrics::observe_queue_time(const std::string& model, double seconds) {
  std::lock_guard<std::mutex> g(mu_);
  slot(queue_seconds_, model, kSeconds).observe(seconds);
}

void Metrics::add_gauge(std::string name, std::string help, std::function<std::vector<std::pair<std::string, double>>()> fn) {
  std::lock_guard<std::mutex> g(mu_);
  gauges_.push_back({std::move(name), std::move(help), std::move(fn)});
}

std::string Metrics::render() const {
  std::string out;
  std::lock_guard<std::mutex> g(mu_);
  out += "# HELP rerank_http_requests_total HTTP requests answered, by route and status.\n"
         "# TYPE rerank_http_requests_total counter\n";
  for (const auto& [k, n] : request_counts_)
    out += "rerank_http_requests_total{route=\"" + escape(k.first) + "\",status=\"" + std::to_string(k.second) + "\"} " +
           std::to_string(n) + "\n";
  render_family(out, "rerank_http_request_duration_seconds", "Time from request to response, by route.", "route", latency_);
  out += "# HELP rerank_batches_total Forward passes run by the batching schedulers.\n# TYPE rerank_batches_total counter\n"
         "rerank_batches_total " + std::to_string(batches_.load()) + "\n";
  out += "# HELP rerank_merged_batches_total Forward passes that served more than one request.\n"
         "# TYPE rerank_merged_batches_total counter\nrerank_merged_batches_total " +
         std::to_string(merged_batches_.load()) + "\n";
  render_family(out, "rerank_batch_size", "Pairs (or texts) per forward pass, by model.", "model", batch_pairs_);
  render_family(out, "rerank_batch_requests", "Requests served by one forward pass, by model.", "model", batch_requests_);
  render_family(out, "rerank_batch_tokens", "Tokens per forward pass, by model.", "model", batch_tokens_);
  render_family(out, "rerank_batch_duration_seconds", "Duration of one forward pass, by model.", "model", batch_seconds_);
  render_family(out, "rerank_queue_time_seconds", "Time a request waited before its first forward pass, by model.", "model",
                queue_seconds_);
  for (const Gauge& gg : gauges_) {
    out += "# HELP " + gg.name + " " + gg.help + "\n# TYPE " + gg.name + " gauge\n";
    for (const auto& [model, v] : gg.fn()) out += gg.name + "{model=\"" + escape(model) + "\"} " + num(v) + "\n";
  }
  return out;
}

}  // namespace rerank::server

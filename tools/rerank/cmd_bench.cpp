// rerank bench: score a reranking workload the way CrossEncoder.predict does and report the speed; --latency times
// single requests (one query and its candidates) instead.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "cli.hpp"
#include "rerank/system.hpp"

namespace rerank::cli {

namespace {

// One raw logit per line, round-trip precision; a crash leaves no truncated FILE behind.
void write_scores(const std::string& path, const std::vector<Prediction>& preds) {
  const std::string tmp = path + ".partial";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) throw InputError(path + ": cannot write scores file");
    char buf[32];
    for (const Prediction& p : preds) {
      std::snprintf(buf, sizeof buf, "%.9g\n", p.logits.empty() ? 0.0 : static_cast<double>(p.logits[0]));
      out << buf;
    }
    out.flush();
    if (!out) throw InputError(path + ": write error");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw InputError(path + ": cannot rename " + tmp + ": " + ec.message());
}

struct Workload {
  std::vector<std::pair<std::string, std::string>> pairs;
  std::vector<size_t> query_start;  // first pair of each workload line
};

Workload read_workload(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot open workload file");
  Workload w;
  read_json_lines(in, path, 1, [&](std::vector<nlohmann::json>& batch, size_t line) {
    const auto& j = batch[0];
    std::string q = field(j, "query", path, line);
    auto it = j.find("documents");
    if (it == j.end() || !it->is_array()) throw InputError(path + " line " + std::to_string(line) + ": \"documents\" must be a list");
    w.query_start.push_back(w.pairs.size());
    for (const auto& d : *it) {
      if (!d.is_string()) throw InputError(path + " line " + std::to_string(line) + ": documents must be strings");
      w.pairs.emplace_back(q, d.get<std::string>());
    }
  });
  if (w.pairs.empty()) throw InputError(path + ": no (query, document) pairs");
  return w;
}

// Nearest-rank percentile of sorted values, p in (0, 100].
double percentile(const std::vector<double>& sorted, double p) {
  const auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size(), std::max<size_t>(rank, 1)) - 1];
}

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

template <class Fn>
double time_ms(Fn&& fn) {
  auto t0 = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// --latency: the seed's case, the workload's first query ranked against its first `candidates` documents (taken
// from later lines when the first has fewer), one request at a time. Cold: each repetition builds a new CrossEncoder
// (thread pool start-up, scratch allocation), then tokenizes and scores. Warm: one CrossEncoder reused, as a server.
void run_latency(const std::shared_ptr<const Model>& model, const EngineFlags& flags, const Workload& w,
                 size_t candidates, size_t reps, nlohmann::ordered_json& o) {
  const std::string& query = w.pairs[0].first;
  std::vector<std::string> docs;
  for (size_t i = 0; i < w.pairs.size() && docs.size() < candidates; ++i) docs.push_back(w.pairs[i].second);
  const PredictOptions opts = flags.predict();
  {  // page the weights in and make the first primitives once, outside the timings
    CrossEncoder ce(model, flags.engine());
    ce.rank(query, docs, 0, opts);
  }
  std::vector<double> cold, warm;
  for (size_t r = 0; r < reps; ++r) {
    cold.push_back(time_ms([&] {
      CrossEncoder ce(model, flags.engine());
      ce.rank(query, docs, 0, opts);
    }));
  }
  CrossEncoder ce(model, flags.engine());
  for (size_t r = 0; r < reps; ++r) warm.push_back(time_ms([&] { ce.rank(query, docs, 0, opts); }));
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& d : docs) pairs.emplace_back(query, d);
  size_t tokens = 0;
  for (const auto& p : ce.predict(pairs, opts)) tokens += p.encoding.ids.size();
  std::sort(cold.begin(), cold.end());
  std::sort(warm.begin(), warm.end());
  o["mode"] = "latency";
  o["candidates"] = docs.size();
  o["mean_tokens_per_pair"] = std::round(10.0 * static_cast<double>(tokens) / static_cast<double>(docs.size())) / 10.0;
  o["repetitions"] = reps;
  o["p50_ms"] = percentile(cold, 50);
  o["p99_ms"] = percentile(cold, 99);
  o["min_ms"] = cold.front();
  o["max_ms"] = cold.back();
  o["warm_p50_ms"] = percentile(warm, 50);
  o["warm_p99_ms"] = percentile(warm, 99);
}

// Throughput: every pair of the workload scored `repeat` times, the best time reported.
std::vector<Prediction> run_throughput(const std::shared_ptr<const Model>& model, const EngineFlags& flags,
                                       const Workload& w, size_t repeat, nlohmann::ordered_json& o) {
  CrossEncoder ce(model, flags.engine());
  const PredictOptions opts = flags.predict();
  double best = 1e300, best_cpu = 1e300;
  size_t tokens = 0;
  std::vector<Prediction> preds;
  for (size_t r = 0; r < repeat; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    const double c0 = process_cpu_seconds();
    preds = ce.predict(w.pairs, opts);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::min(best, s);
    best_cpu = std::min(best_cpu, process_cpu_seconds() - c0);
    tokens = 0;
    for (const auto& p : preds) tokens += p.encoding.ids.size();
    std::fprintf(stderr, "repeat %zu: %.3f s, %.1f pairs/s\n", r + 1, s, static_cast<double>(w.pairs.size()) / s);
  }
  o["pairs"] = w.pairs.size();
  o["tokens"] = tokens;
  o["seconds"] = best;
  o["pairs_per_second"] = static_cast<double>(w.pairs.size()) / best;
  o["tokens_per_second"] = static_cast<double>(tokens) / best;
  o["cpu_seconds"] = best_cpu;  // all threads' CPU time of the best repeat: steadier than wall time on a busy machine
  return preds;
}

// --compare: the same workload in another precision, and the ranking agreement of `preds` with it.
void add_fidelity(const std::shared_ptr<const Model>& model, const EngineFlags& flags, const Workload& w,
                  const std::string& compare, const std::vector<Prediction>& preds, nlohmann::ordered_json& o) {
  EngineOptions ref_opts = flags.engine();
  ref_opts.precision = parse_precision(compare);
  CrossEncoder ref(model, ref_opts);
  auto ref_preds = ref.predict(w.pairs, flags.predict());
  std::vector<std::vector<float>> a, b;
  std::vector<size_t> starts = w.query_start;
  starts.push_back(w.pairs.size());
  for (size_t q = 0; q + 1 < starts.size(); ++q) {
    a.emplace_back();
    b.emplace_back();
    for (size_t i = starts[q]; i < starts[q + 1]; ++i) {
      a.back().push_back(ref_preds[i].logits[0]);
      b.back().push_back(preds[i].logits[0]);
    }
  }
  Fidelity f = compare_rankings(a, b, 10);
  o["compare"] = compare;
  o["mean_spearman"] = f.mean_spearman;
  o["min_spearman"] = f.min_spearman;
  o["mean_top10_overlap"] = f.mean_top_overlap;
  o["max_abs_logit_diff"] = f.max_abs_diff;
}

}  // namespace

void register_bench(CLI::App& app) {
  auto flags = std::make_shared<EngineFlags>();
  auto workload = std::make_shared<std::string>();
  auto repeat = std::make_shared<size_t>(3);
  auto compare = std::make_shared<std::string>();
  auto scores_out = std::make_shared<std::string>();
  auto latency = std::make_shared<bool>(false);
  auto candidates = std::make_shared<size_t>(20);
  CLI::App* cmd = app.add_subcommand("bench", "Measure cross-encoder speed on a workload (for peer-bench)");
  cmd->footer(
      "Workload: JSON lines {\"query\": ..., \"documents\": [...]} (as shared/tools/peer-bench/workload.py writes).\n"
      "Every (query, document) pair is scored; each repeat times tokenization + scoring of all pairs (model load\n"
      "excluded). The last line printed is one JSON object: system, pairs, tokens, seconds (best repeat),\n"
      "pairs_per_second, tokens_per_second, cpu_seconds (CPU time of all threads in the best repeat), threads,\n"
      "batch_size, max_length, precision, cpu, kernels.\n"
      "--scores-out FILE writes each pair's raw logit (the first one for multi-label models), one per line in\n"
      "workload order, as peer-bench reads them to judge ranking fidelity in the same run.\n\n"
      "--latency times single requests instead: the first query against --candidates documents (20), --repeat\n"
      "times (200 unless given), --max-length 128 unless given. Each cold repetition builds a new engine (thread\n"
      "start-up, allocation), tokenizes and ranks; warm repetitions reuse one engine. The JSON adds mode, candidates,\n"
      "mean_tokens_per_pair, repetitions, p50_ms, p99_ms, min_ms, max_ms (cold), warm_p50_ms, warm_p99_ms.\n\n"
      "Examples:\n"
      "  rerank bench -m MODEL_DIR --workload wl.jsonl --threads 2 --batch-size 32 --max-length 512 --repeat 3\n"
      "  rerank bench -m MODEL_DIR --workload wl.jsonl --threads 2 --latency");
  flags->add(cmd);
  flags->add_template(cmd);
  cmd->add_option("--workload", *workload, "Workload file (JSON lines with query and documents)")->required();
  auto* cmp = cmd->add_option("--compare", *compare,
                              "Also score the workload in this precision (normally fp32) and report fidelity: per-query "
                              "Spearman, top-10 overlap and max |logit difference| of --precision against it")
                  ->check(CLI::IsMember({"fp32", "bf16", "int8"}, CLI::ignore_case));
  auto* so = cmd->add_option("--scores-out", *scores_out,
                             "Write each pair's raw logit, one per line in workload order (written to FILE.partial, "
                             "then renamed)");
  auto* rep = cmd->add_option("--repeat", *repeat, "Timed repeats; the best is reported (--latency: repetitions, 200)")
                  ->capture_default_str()
                  ->check(CLI::Range(1, 100000));
  cmd->add_flag("--latency", *latency, "Time single requests (one query, --candidates documents): p50/p99")
      ->excludes(cmp)
      ->excludes(so);
  cmd->add_option("--candidates", *candidates, "Documents per request with --latency")->capture_default_str()->check(CLI::Range(1, 100000));
  cmd->callback([=] {
    const Workload w = read_workload(*workload);
    EngineFlags f = *flags;
    if (*latency && f.max_length == 0) f.max_length = 128;
    const size_t reps = *latency && rep->count() == 0 ? 200 : *repeat;
    auto model = Model::load(resolve_model(f.model));
    nlohmann::ordered_json o;
    o["system"] = "rerank " + f.precision;
    std::vector<Prediction> preds;
    if (*latency) {
      run_latency(model, f, w, *candidates, reps, o);
    } else {
      preds = run_throughput(model, f, w, reps, o);
      if (!scores_out->empty()) write_scores(*scores_out, preds);
    }
    o["threads"] = f.threads ? f.threads : std::max(1u, std::thread::hardware_concurrency());
    o["batch_size"] = f.batch_size;
    o["max_length"] = f.max_length ? f.max_length : model->info().max_length;
    o["precision"] = f.precision;
    o["cpu"] = cpu_features();
    o["kernels"] = kernel_description();
    if (!compare->empty()) add_fidelity(model, f, w, *compare, preds, o);
    emit(o);
  });
}

}  // namespace rerank::cli

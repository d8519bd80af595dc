// rerank bench: score a reranking workload the way CrossEncoder.predict does and report the speed.
#include <cstdio>
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

}  // namespace

void register_bench(CLI::App& app) {
  auto flags = std::make_shared<EngineFlags>();
  auto workload = std::make_shared<std::string>();
  auto repeat = std::make_shared<size_t>(3);
  auto compare = std::make_shared<std::string>();
  auto scores_out = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("bench", "Measure cross-encoder speed on a workload (for peer-bench)");
  cmd->footer(
      "Workload: JSON lines {\"query\": ..., \"documents\": [...]} (as shared/tools/peer-bench/workload.py writes).\n"
      "Every (query, document) pair is scored; each repeat times tokenization + scoring of all pairs (model load\n"
      "excluded). The last line printed is one JSON object: system, pairs, tokens, seconds (best repeat),\n"
      "pairs_per_second, tokens_per_second, threads, batch_size, max_length, precision, cpu, kernels.\n"
      "--scores-out FILE writes each pair's raw logit (the first one for multi-label models), one per line in\n"
      "workload order, as peer-bench reads them to judge ranking fidelity in the same run.\n\n"
      "Example:\n"
      "  rerank bench -m MODEL_DIR --workload wl.jsonl --threads 2 --batch-size 32 --max-length 512 --repeat 3");
  flags->add(cmd);
  flags->add_template(cmd);
  cmd->add_option("--workload", *workload, "Workload file (JSON lines with query and documents)")->required();
  cmd->add_option("--compare", *compare,
                  "Also score the workload in this precision (normally fp32) and report fidelity: per-query Spearman, "
                  "top-10 overlap and max |logit difference| of --precision against it")
      ->check(CLI::IsMember({"fp32", "bf16", "int8"}, CLI::ignore_case));
  cmd->add_option("--scores-out", *scores_out,
                  "Write each pair's raw logit, one per line in workload order (written to FILE.partial, then renamed)");
  cmd->add_option("--repeat", *repeat, "Timed repeats; the best is reported")->capture_default_str()->check(CLI::Range(1, 1000));
  cmd->callback([=] {
    std::ifstream in(*workload);
    if (!in) throw InputError(*workload + ": cannot open workload file");
    std::vector<std::pair<std::string, std::string>> pairs;
    std::vector<size_t> query_start;  // first pair of each workload line
    read_json_lines(in, *workload, 1, [&](std::vector<nlohmann::json>& batch, size_t line) {
      const auto& j = batch[0];
      std::string q = field(j, "query", *workload, line);
      auto it = j.find("documents");
      if (it == j.end() || !it->is_array()) throw InputError(*workload + " line " + std::to_string(line) + ": \"documents\" must be a list");
      query_start.push_back(pairs.size());
      for (const auto& d : *it) {
        if (!d.is_string()) throw InputError(*workload + " line " + std::to_string(line) + ": documents must be strings");
        pairs.emplace_back(q, d.get<std::string>());
      }
    });
    if (pairs.empty()) throw InputError(*workload + ": no (query, document) pairs");
    auto model = Model::load(resolve_model(flags->model));
    CrossEncoder ce(model, flags->engine());
    PredictOptions opts = flags->predict();
    double best = 1e300;
    size_t tokens = 0;
    std::vector<Prediction> preds;
    for (size_t r = 0; r < *repeat; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      preds = ce.predict(pairs, opts);
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      best = std::min(best, s);
      tokens = 0;
      for (const auto& p : preds) tokens += p.encoding.ids.size();
      std::fprintf(stderr, "repeat %zu: %.3f s, %.1f pairs/s\n", r + 1, s, pairs.size() / s);
    }
    if (!scores_out->empty()) write_scores(*scores_out, preds);
    const size_t threads = flags->threads ? flags->threads : std::max(1u, std::thread::hardware_concurrency());
    nlohmann::ordered_json o;
    o["system"] = "rerank " + flags->precision;
    o["pairs"] = pairs.size();
    o["tokens"] = tokens;
    o["seconds"] = best;
    o["pairs_per_second"] = pairs.size() / best;
    o["tokens_per_second"] = tokens / best;
    o["threads"] = threads;
    o["batch_size"] = flags->batch_size;
    o["max_length"] = flags->max_length ? flags->max_length : model->info().max_length;
    o["precision"] = flags->precision;
    o["cpu"] = cpu_features();
    o["kernels"] = kernel_description();
    if (!compare->empty()) {
      EngineOptions ref_opts = flags->engine();
      ref_opts.precision = parse_precision(*compare);
      CrossEncoder ref(model, ref_opts);
      auto ref_preds = ref.predict(pairs, opts);
      std::vector<std::vector<float>> a, b;
      query_start.push_back(pairs.size());
      for (size_t q = 0; q + 1 < query_start.size(); ++q) {
        a.emplace_back();
        b.emplace_back();
        for (size_t i = query_start[q]; i < query_start[q + 1]; ++i) {
          a.back().push_back(ref_preds[i].logits[0]);
          b.back().push_back(preds[i].logits[0]);
        }
      }
      Fidelity f = compare_rankings(a, b, 10);
      o["compare"] = *compare;
      o["mean_spearman"] = f.mean_spearman;
      o["min_spearman"] = f.min_spearman;
      o["mean_top10_overlap"] = f.mean_top_overlap;
      o["max_abs_logit_diff"] = f.max_abs_diff;
    }
    emit(o);
  });
}

}  // namespace rerank::cli

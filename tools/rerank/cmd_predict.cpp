// rerank predict: JSON lines {"query", "document"} in, {"score", "logits"} out, in order.
#include "cli.hpp"

namespace rerank::cli {

void register_predict(CLI::App& app) {
  auto flags = std::make_shared<EngineFlags>();
  auto tokens = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("predict", "Score (query, document) pairs like sentence-transformers' CrossEncoder.predict");
  cmd->footer(
      "Input (stdin): one JSON object per line, {\"query\": ..., \"document\": ...}.\n"
      "Output (stdout): one line per input, in order: {\"score\": s, \"logits\": [...]}; score is the model's\n"
      "activation of the logits (Identity for ms-marco cross-encoders, Sigmoid for other one-label models); with\n"
      "several labels, score is a list. --tokens adds \"input_ids\" and \"token_type_ids\".\n"
      "Invalid JSON or invalid UTF-8 on a line is an error naming the line (exit 1).\n\n"
      "Example:\n"
      "  echo '{\"query\": \"reset password\", \"document\": \"Click Forgot Password.\"}' | rerank predict -m MODEL_DIR");
  flags->add(cmd);
  flags->add_template(cmd);
  cmd->add_flag("--tokens", *tokens, "Also print input_ids and token_type_ids");
  cmd->callback([flags, tokens] {
    auto model = Model::load(resolve_model(flags->model));
    CrossEncoder ce(model, flags->engine());
    PredictOptions opts = flags->predict();
    (void)uses_reranker_template(*model, opts);
    const bool multi = model->info().num_labels > 1;
    Progress progress("predict");
    read_json_lines(std::cin, "stdin", std::max<size_t>(flags->batch_size * 8, 64), [&](std::vector<nlohmann::json>& batch, size_t first) {
      std::vector<std::pair<std::string, std::string>> pairs;
      pairs.reserve(batch.size());
      size_t line = first;
      for (const auto& j : batch) {
        pairs.emplace_back(field(j, "query", "stdin", line), field(j, "document", "stdin", line));
        ++line;
      }
      auto preds = ce.predict(pairs, opts);
      for (const auto& p : preds) {
        nlohmann::ordered_json o;
        if (multi) o["score"] = p.scores; else o["score"] = p.scores[0];
        o["logits"] = p.logits;
        if (*tokens) {
          o["input_ids"] = p.encoding.ids;
          o["token_type_ids"] = p.encoding.type_ids;
        }
        emit(o);
      }
      progress.add(preds.size());
    });
    progress.finish();
  });
}

}  // namespace rerank::cli

// rerank embed: JSON lines {"text"} in, {"embedding"} out, in order.
#include "cli.hpp"

namespace rerank::cli {

void register_embed(CLI::App& app) {
  auto flags = std::make_shared<EngineFlags>();
  auto tokens = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("embed", "Embed texts like sentence-transformers' SentenceTransformer.encode");
  cmd->footer(
      "Input (stdin): one JSON object per line, {\"text\": ...}.\n"
      "Output (stdout): one line per input, in order: {\"embedding\": [...]}, pooled and normalised as the model's\n"
      "modules.json says; --tokens adds \"input_ids\".\n\n"
      "Example:\n"
      "  echo '{\"text\": \"How do I reset my password?\"}' | rerank embed -m all-MiniLM-L6-v2");
  flags->add(cmd);
  cmd->add_flag("--tokens", *tokens, "Also print input_ids");
  auto prompt_name = std::make_shared<std::string>();
  cmd->add_option("--prompt-name", *prompt_name,
                  "A prompt of config_sentence_transformers.json to prepend (e.g. query for Qwen3-Embedding)");
  cmd->callback([flags, tokens, prompt_name] {
    auto model = Model::load(resolve_model(flags->model));
    BiEncoder be(model, flags->engine());
    EncodeOptions opts{flags->max_length, *prompt_name};
    Progress progress("embed");
    read_json_lines(std::cin, "stdin", std::max<size_t>(flags->batch_size * 8, 64), [&](std::vector<nlohmann::json>& batch, size_t first) {
      std::vector<std::string> texts;
      texts.reserve(batch.size());
      size_t line = first;
      for (const auto& j : batch) texts.push_back(field(j, "text", "stdin", line++));
      std::vector<Encoding> encs;
      auto embs = be.encode(texts, opts, &encs);
      for (size_t i = 0; i < embs.size(); ++i) {
        nlohmann::ordered_json o;
        o["embedding"] = embs[i];
        if (*tokens) o["input_ids"] = encs[i].ids;
        emit(o);
      }
      progress.add(embs.size());
    });
    progress.finish();
  });
}

}  // namespace rerank::cli

// rerank tokenize: show what the model's tokenizer makes of texts or pairs, for debugging.
#include "cli.hpp"
#include "util/files.hpp"

namespace rerank::cli {

void register_tokenize(CLI::App& app) {
  auto model_dir = std::make_shared<std::string>();
  auto max_length = std::make_shared<size_t>(0);
  CLI::App* cmd = app.add_subcommand("tokenize", "Print token ids and tokens (debugging)");
  cmd->footer(
      "Input (stdin): JSON lines with \"text\", or \"query\" and \"document\" for a pair; a line that is not JSON\n"
      "is taken as plain text. Output: {\"input_ids\", \"token_type_ids\", \"tokens\"} per line.\n"
      "--max-length truncates as the model would (0 = no truncation).\n\n"
      "Example:\n"
      "  echo 'Héllo, wörld!' | rerank tokenize -m MODEL_DIR");
  cmd->add_option("-m,--model", *model_dir, "Model (or tokenizer-only) directory, or a Hub id ORG/NAME[@REVISION]")->required();
  cmd->add_option("--max-length", *max_length, "Truncate to this many tokens, special tokens included (0 = none)");
  cmd->callback([=] {
    Tokenizer tok = Tokenizer::from_directory(resolve_model(*model_dir));
    std::string line;
    size_t lineno = 0;
    while (std::getline(std::cin, line)) {
      ++lineno;
      Encoding e;
      nlohmann::json j = util::parse_json_or_discard(line);
      if (!j.is_discarded() && j.is_object() && j.contains("query")) {
        e = tok.encode_pair(field(j, "query", "stdin", lineno), field(j, "document", "stdin", lineno), *max_length);
      } else if (!j.is_discarded() && j.is_object()) {
        e = tok.encode(field(j, "text", "stdin", lineno), *max_length);
      } else {
        e = tok.encode(line, *max_length);
      }
      emit({{"input_ids", e.ids}, {"token_type_ids", e.type_ids}, {"tokens", e.tokens}});
    }
  });
}

}  // namespace rerank::cli

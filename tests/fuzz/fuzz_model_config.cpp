// Fuzz target: a model directory's configuration, as read_model_info reads it: config.json and the
// sentence-transformers module files. Input: NUL-separated parts, written when non-empty as config.json,
// modules.json, sentence_bert_config.json, config_sentence_transformers.json, tokenizer_config.json,
// 1_Pooling/config.json.
#include "fuzz_common.hpp"
#include "model/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const char* files[] = {"config.json", "modules.json", "sentence_bert_config.json",
                                "config_sentence_transformers.json", "tokenizer_config.json", "1_Pooling/config.json"};
  const auto parts = fuzz::split(std::string_view(reinterpret_cast<const char*>(data), size), 6);
  const auto dir = fuzz::fresh_dir();
  for (size_t i = 0; i < parts.size(); ++i)
    if (!parts[i].empty()) fuzz::write(dir / files[i], parts[i]);
  fuzz::expect_typed_errors([&] {
    rerank::ModelInfo info = rerank::model::read_model_info(dir);
    if (info.max_length == 0 || info.max_length > info.max_sequence_length) __builtin_trap();
    (void)info.embedding_dim();
  });
  return 0;
}

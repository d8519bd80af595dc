// Reads config.json and the sentence-transformers files of a model directory into a ModelInfo.
#pragma once
#include <filesystem>

#include "rerank/model.hpp"

namespace rerank::model {

/// Parses config.json (architecture, shapes, activation) and the sentence-transformers files (modules.json,
/// Pooling config, sentence_bert_config.json, tokenizer_config.json for the default max length).
/// Throws ModelError naming the file and field.
ModelInfo read_model_info(const std::filesystem::path& dir);

}  // namespace rerank::model

// Reads config.json and the sentence-transformers files of a model directory into a ModelInfo, and the typed
// field readers the architectures use for their own config.json fields.
#pragma once
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

#include "kernels/ops.hpp"
#include "rerank/model.hpp"

namespace rerank::model {

/// Parses config.json (model_type -> the architecture's fields, shapes, activation) and the sentence-transformers
/// files (modules.json, Pooling config, sentence_bert_config.json, config_sentence_transformers.json,
/// tokenizer_config.json for the default max length). Throws ModelError naming the file and field.
ModelInfo read_model_info(const std::filesystem::path& dir);

/// config[key] as an integer in [lo, hi]; `fallback` when absent or null unless `required`. ModelError otherwise.
int config_int(const nlohmann::json& c, const std::filesystem::path& file, const char* key, int fallback, bool required,
               int lo, int hi);
/// config[key] as a finite number >= 0 (fallback when absent or null).
double config_number(const nlohmann::json& c, const std::filesystem::path& file, const char* key, double fallback);
/// config[key] as a string (fallback when absent or null).
std::string config_string(const nlohmann::json& c, const std::filesystem::path& file, const char* key,
                          const std::string& fallback);
/// config[key] as a boolean (fallback when absent or null).
bool config_bool(const nlohmann::json& c, const std::filesystem::path& file, const char* key, bool fallback);
/// hidden_act-style name -> kernels::Act, or ModelError naming the field.
kernels::Act config_act(const std::string& name, const std::filesystem::path& file, const char* key);

}  // namespace rerank::model

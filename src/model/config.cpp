#include "model/config.hpp"

#include <algorithm>
#include <cmath>

#include "kernels/ops.hpp"
#include "model/architecture.hpp"
#include "rerank/error.hpp"
#include "util/files.hpp"

namespace rerank {

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::Identity: return "Identity";
    case Activation::Sigmoid: return "Sigmoid";
    case Activation::Tanh: return "Tanh";
    case Activation::Softmax: return "Softmax";
  }
  return "?";
}

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::FP32: return "fp32";
    case Precision::BF16: return "bf16";
    case Precision::INT8: return "int8";
  }
  return "?";
}

Precision parse_precision(const std::string& name) {
  std::string n = name;
  std::transform(n.begin(), n.end(), n.begin(), ::tolower);
  if (n == "fp32" || n == "f32" || n == "float32") return Precision::FP32;
  if (n == "bf16" || n == "bfloat16") return Precision::BF16;
  if (n == "int8" || n == "i8") return Precision::INT8;
  throw InputError("unknown precision '" + name + "' (expected fp32, bf16 or int8)");
}

namespace model {

using nlohmann::json;

int config_int(const json& j, const std::filesystem::path& file, const char* key, int fallback, bool required, int lo, int hi) {
  if (!j.contains(key) || j[key].is_null()) {
    if (required) throw ModelError(file.string() + ": missing required field '" + key + "'");
    return fallback;
  }
  if (!j[key].is_number_integer()) throw ModelError(file.string() + ": field '" + key + "' must be an integer");
  long long v = j[key].get<long long>();
  if (v < lo || v > hi) {
    throw ModelError(file.string() + ": field '" + key + "' = " + std::to_string(v) + " is out of range [" +
                     std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return static_cast<int>(v);
}

double config_number(const json& j, const std::filesystem::path& file, const char* key, double fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_number()) throw ModelError(file.string() + ": field '" + key + "' must be a number");
  const double v = j[key].get<double>();
  if (!(v >= 0.0) || !std::isfinite(v)) throw ModelError(file.string() + ": field '" + key + "' must be a finite number >= 0");
  return v;
}

std::string config_string(const json& j, const std::filesystem::path& file, const char* key, const std::string& fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_string()) throw ModelError(file.string() + ": field '" + key + "' must be a string");
  return j[key].get<std::string>();
}

bool config_bool(const json& j, const std::filesystem::path& file, const char* key, bool fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_boolean()) throw ModelError(file.string() + ": field '" + key + "' must be true or false");
  return j[key].get<bool>();
}

kernels::Act config_act(const std::string& name, const std::filesystem::path& file, const char* key) {
  kernels::Act act;
  if (!kernels::parse_act(name, &act)) {
    throw ModelError(file.string() + ": " + key + " '" + name + "' is not supported (gelu, gelu_new, relu, tanh, silu)");
  }
  return act;
}

namespace {

Activation parse_activation(const std::string& s, const std::filesystem::path& file) {
  auto ends = [&](const char* suffix) {
    std::string x = suffix;
    return s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0;
  };
  if (ends("Identity")) return Activation::Identity;
  if (ends("Sigmoid")) return Activation::Sigmoid;
  if (ends("Tanh")) return Activation::Tanh;
  if (ends("Softmax")) return Activation::Softmax;
  throw ModelError(file.string() + ": unsupported activation function '" + s + "' (supported: Identity, Sigmoid, Tanh, Softmax)");
}

// sentence-transformers Pooling: new-style "pooling_mode" (string or list) or old-style pooling_mode_*_token(s) flags.
std::vector<std::string> parse_pooling(const std::filesystem::path& file) {
  json j = util::read_json(file);
  if (!j.is_object()) throw ModelError(file.string() + ": expected a JSON object");
  static const char* kOrder[] = {"cls", "max", "mean", "mean_sqrt_len", "weightedmean", "lasttoken"};
  auto canonical = [&](std::string m) -> std::string {
    std::transform(m.begin(), m.end(), m.begin(), ::tolower);
    if (m == "cls" || m == "cls_token") return "cls";
    if (m == "max" || m == "max_tokens") return "max";
    if (m == "mean" || m == "mean_tokens") return "mean";
    if (m == "mean_sqrt_len_tokens" || m == "mean_sqrt_len") return "mean_sqrt_len";
    if (m == "weightedmean" || m == "weightedmean_tokens") return "weightedmean";
    if (m == "lasttoken") return "lasttoken";
    throw ModelError(file.string() + ": unsupported pooling mode '" + m + "'");
  };
  std::vector<std::string> modes;
  if (j.contains("pooling_mode")) {
    const json& pm = j["pooling_mode"];
    if (pm.is_string()) {
      modes.push_back(canonical(pm.get<std::string>()));
    } else if (pm.is_array()) {
      for (const auto& m : pm) {
        if (!m.is_string()) throw ModelError(file.string() + ": 'pooling_mode' entries must be strings");
        modes.push_back(canonical(m.get<std::string>()));
      }
    } else {
      throw ModelError(file.string() + ": 'pooling_mode' must be a string or a list of strings");
    }
  } else {
    static const std::pair<const char*, const char*> kFlags[] = {
        {"pooling_mode_cls_token", "cls"},          {"pooling_mode_max_tokens", "max"},
        {"pooling_mode_mean_tokens", "mean"},       {"pooling_mode_mean_sqrt_len_tokens", "mean_sqrt_len"},
        {"pooling_mode_weightedmean_tokens", "weightedmean"}, {"pooling_mode_lasttoken", "lasttoken"}};
    for (const auto& [key, mode] : kFlags) {
      if (j.contains(key)) {
        if (!j[key].is_boolean()) throw ModelError(file.string() + ": '" + key + "' must be true or false");
        if (j[key].get<bool>()) modes.push_back(mode);
      }
    }
  }
  if (modes.empty()) throw ModelError(file.string() + ": no pooling mode is enabled");
  // sentence-transformers concatenates in a fixed order, whatever order the config lists them in
  std::vector<std::string> ordered;
  for (const char* m : kOrder) {
    if (std::find(modes.begin(), modes.end(), m) != modes.end()) ordered.push_back(m);
  }
  return ordered;
}

// architectures[0], the classification head and the old-style cross-encoder activation of config.json
void read_head(const json& c, const std::filesystem::path& cfg_path, ModelInfo& info) {
  info.architecture.clear();
  if (c.contains("architectures") && c["architectures"].is_array() && !c["architectures"].empty() &&
      c["architectures"][0].is_string()) {
    info.architecture = c["architectures"][0].get<std::string>();
  }
  info.has_classifier = info.architecture.find("ForSequenceClassification") != std::string::npos;
  const std::string causal = "ForCausalLM";
  if (info.architecture.size() > causal.size() &&
      info.architecture.compare(info.architecture.size() - causal.size(), causal.size(), causal) == 0) {
    if (!find_architecture(info.model_type, cfg_path).decoder) {
      throw ModelError(cfg_path.string() + ": architecture '" + info.architecture + "' is not supported (model_type '" +
                       info.model_type + "' is an encoder)");
    }
    // sentence-transformers 6 loads it as a CrossEncoder: LogitScore(yes, no), one label, default Sigmoid
    info.causal_lm = info.has_classifier = true;
    info.num_labels = 1;
    info.activation = Activation::Sigmoid;
    return;
  }
  if (!info.has_classifier) return;
  if (c.contains("id2label") && c["id2label"].is_object() && !c["id2label"].empty()) {
    info.num_labels = static_cast<int>(c["id2label"].size());
  } else {
    info.num_labels = config_int(c, cfg_path, "num_labels", 2, false, 1, 1 << 16);  // transformers' default: 2
  }
  // sentence-transformers < 5 kept the activation here; default Sigmoid for one label, Identity otherwise
  info.activation = info.num_labels == 1 ? Activation::Sigmoid : Activation::Identity;
  if (c.contains("sentence_transformers") && c["sentence_transformers"].is_object() &&
      c["sentence_transformers"].contains("activation_fn") && c["sentence_transformers"]["activation_fn"].is_string()) {
    info.activation = parse_activation(c["sentence_transformers"]["activation_fn"].get<std::string>(), cfg_path);
  } else if (c.contains("sbert_ce_default_activation_function") && c["sbert_ce_default_activation_function"].is_string()) {
    info.activation = parse_activation(c["sbert_ce_default_activation_function"].get<std::string>(), cfg_path);
  }
}

// sentence-transformers modules: Transformer (with sentence_bert_config.json), Pooling, Normalize
void read_modules(const std::filesystem::path& dir, ModelInfo& info) {
  std::error_code ec;
  const auto modules_path = dir / "modules.json";
  if (!std::filesystem::exists(modules_path, ec)) return;
  json mods = util::read_json(modules_path);
  if (!mods.is_array()) throw ModelError(modules_path.string() + ": expected a JSON list of modules");
  for (const auto& m : mods) {
    if (!m.is_object() || !m.contains("type") || !m["type"].is_string()) {
      throw ModelError(modules_path.string() + ": every module needs a string 'type'");
    }
    const std::string type = m["type"].get<std::string>();
    const std::string path = m.contains("path") && m["path"].is_string() ? m["path"].get<std::string>() : "";
    if (path.find("..") != std::string::npos || (!path.empty() && path[0] == '/')) {
      throw ModelError(modules_path.string() + ": module path '" + path + "' leaves the model directory");
    }
    auto ends = [&](const std::string& suffix) {
      return type.size() >= suffix.size() && type.compare(type.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    if (ends("Transformer")) continue;
    if (ends("Pooling")) {
      info.pooling = parse_pooling(dir / path / "config.json");
    } else if (ends("Normalize")) {
      info.normalize = true;
    } else {
      throw ModelError(modules_path.string() + ": module type '" + type + "' is not supported (Transformer, Pooling, Normalize)");
    }
  }
}

// sentence-transformers 5/6 CrossEncoder saves: sentence_bert_config.json's transformer_task and
// config_sentence_transformers.json's activation_fn (which wins over config.json's old-style one)
void read_st_files(const std::filesystem::path& dir, ModelInfo& info) {
  std::error_code ec;
  const auto sbert_path = dir / "sentence_bert_config.json";
  if (std::filesystem::exists(sbert_path, ec)) {
    json s = util::read_json(sbert_path);
    if (!s.is_object()) throw ModelError(sbert_path.string() + ": expected a JSON object");
    const std::string task = config_string(s, sbert_path, "transformer_task", "");
    if (task == "sequence-classification" && !info.has_classifier) {
      throw ModelError(sbert_path.string() + ": transformer_task 'sequence-classification', but config.json's architecture '" +
                       info.architecture + "' has no sequence-classification head");
    }
  }
  const auto cst_path = dir / "config_sentence_transformers.json";
  if (!std::filesystem::exists(cst_path, ec)) return;
  json c = util::read_json(cst_path);
  if (!c.is_object()) throw ModelError(cst_path.string() + ": expected a JSON object");
  if (info.has_classifier && c.contains("activation_fn") && !c["activation_fn"].is_null()) {
    if (!c["activation_fn"].is_string()) throw ModelError(cst_path.string() + ": 'activation_fn' must be a string");
    info.activation = parse_activation(c["activation_fn"].get<std::string>(), cst_path);
  }
  if (c.contains("prompts") && !c["prompts"].is_null()) {
    if (!c["prompts"].is_object()) throw ModelError(cst_path.string() + ": 'prompts' must be an object of strings");
    for (const auto& [name, text] : c["prompts"].items()) {
      if (!text.is_string()) throw ModelError(cst_path.string() + ": 'prompts." + name + "' must be a string");
      info.prompts[name] = text.get<std::string>();
    }
  }
  const std::string prompt_name = config_string(c, cst_path, "default_prompt_name", "");
  if (!prompt_name.empty()) {
    const json& prompts = c.contains("prompts") ? c["prompts"] : json::object();
    if (!prompts.is_object() || !prompts.contains(prompt_name) || !prompts[prompt_name].is_string()) {
      throw ModelError(cst_path.string() + ": default_prompt_name '" + prompt_name + "' is not in 'prompts'");
    }
    info.default_prompt = prompts[prompt_name].get<std::string>();
  }
}

// sentence-transformers' rule: max_seq_length of sentence_bert_config.json, else the tokenizer's model_max_length
// capped by max_position_embeddings; then capped by the positions the architecture can index (XLM-R: 8194 - 2)
size_t default_max_length(const std::filesystem::path& dir, const ModelInfo& info) {
  std::error_code ec;
  size_t max_len = static_cast<size_t>(info.max_position_embeddings);
  bool from_st = false;
  const auto sbert_path = dir / "sentence_bert_config.json";
  if (std::filesystem::exists(sbert_path, ec)) {
    json s = util::read_json(sbert_path);
    if (s.is_object() && s.contains("max_seq_length") && !s["max_seq_length"].is_null()) {
      if (!s["max_seq_length"].is_number_integer() || s["max_seq_length"].get<long long>() < 1) {
        throw ModelError(sbert_path.string() + ": 'max_seq_length' must be a positive integer");
      }
      max_len = static_cast<size_t>(s["max_seq_length"].get<long long>());
      from_st = true;
    }
  }
  const auto tc_path = dir / "tokenizer_config.json";
  if (!from_st && std::filesystem::exists(tc_path, ec)) {
    json t = util::read_json(tc_path);
    if (t.is_object() && t.contains("model_max_length") && t["model_max_length"].is_number()) {
      double v = t["model_max_length"].get<double>();
      if (v >= 1 && v < static_cast<double>(max_len)) max_len = static_cast<size_t>(v);
    }
  }
  return std::min(max_len, info.max_sequence_length);
}

}  // namespace

ModelInfo read_model_info(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) throw ModelError(dir.string() + ": model directory not found");
  if (!std::filesystem::is_directory(dir, ec)) throw ModelError(dir.string() + ": not a directory");
  const auto cfg_path = dir / "config.json";
  json c = util::read_json(cfg_path);
  if (!c.is_object()) throw ModelError(cfg_path.string() + ": expected a JSON object");

  ModelInfo info;
  info.directory = dir;
  info.model_type = config_string(c, cfg_path, "model_type", "bert");
  const ArchitectureSpec& spec = find_architecture(info.model_type, cfg_path);
  info.hidden_size = config_int(c, cfg_path, "hidden_size", 0, true, 1, 1 << 16);
  info.num_layers = config_int(c, cfg_path, "num_hidden_layers", 0, true, 1, 1024);
  info.num_heads = config_int(c, cfg_path, "num_attention_heads", 0, true, 1, 1024);
  info.intermediate_size = config_int(c, cfg_path, "intermediate_size", 0, true, 1, 1 << 18);
  info.vocab_size = config_int(c, cfg_path, "vocab_size", 0, true, 1, 1 << 24);
  info.max_position_embeddings = config_int(c, cfg_path, "max_position_embeddings", 512, false, 2, 1 << 20);
  if (info.hidden_size % info.num_heads != 0) {
    throw ModelError(cfg_path.string() + ": hidden_size " + std::to_string(info.hidden_size) +
                     " is not a multiple of num_attention_heads " + std::to_string(info.num_heads));
  }
  spec.configure(c, cfg_path, info);
  read_head(c, cfg_path, info);
  if (info.architecture.empty()) info.architecture = info.model_type == "bert" ? "BertModel" : info.model_type;
  read_modules(dir, info);
  read_st_files(dir, info);
  info.max_length = default_max_length(dir, info);
  return info;
}

}  // namespace model
}  // namespace rerank

// How a (query, document) pair becomes a reranker's input: plain pairs (Tokenizer::encode_pair) or the
// Qwen3-Reranker template of its model card (https://huggingface.co/Qwen/Qwen3-Reranker-0.6B), chosen per request.
#include <algorithm>

#include "rerank/cross_encoder.hpp"
#include "rerank/error.hpp"

namespace rerank {
namespace {

const char* const kPrefix =
    "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct "
    "provided. Note that the answer can only be \"yes\" or \"no\".<|im_end|>\n<|im_start|>user\n";
const char* const kSuffix = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n";
const char* const kDefaultInstruction = "Given a web search query, retrieve relevant passages that answer the query";

}  // namespace

bool uses_reranker_template(const Model& model, const PredictOptions& options) {
  const std::string& t = options.template_name;
  if (t == "none") return false;
  if (t == "qwen3-reranker") return true;
  if (t != "auto" && !t.empty()) {
    throw InputError("unknown template '" + t + "' (expected auto, qwen3-reranker or none)");
  }
  const ModelInfo& info = model.info();
  return info.model_type == "qwen3" && info.has_classifier;
}

Encoding encode_scored_pair(const Model& model, std::string_view query, std::string_view document,
                            const PredictOptions& options, size_t max_length) {
  const Tokenizer& tok = model.tokenizer();
  if (!uses_reranker_template(model, options)) return tok.encode_pair(query, document, max_length);
  const std::string instruction = options.instruction.empty() ? kDefaultInstruction : options.instruction;
  if (!model.info().causal_lm) {  // the seq-cls conversions' model cards: a (query part, document part) pair
    std::string a = std::string(kPrefix) + "<Instruct>: " + instruction + "\n<Query>: " + std::string(query) + "\n";
    std::string b = "<Document>: " + std::string(document) + kSuffix;
    return tok.encode_pair(a, b, max_length);
  }
  // the CausalLM model card: prefix + tokenizer(formatted, truncation, max_length - prefix - suffix) + suffix
  const std::vector<int32_t> prefix = tok.encode_ids(kPrefix), suffix = tok.encode_ids(kSuffix);
  if (max_length <= prefix.size() + suffix.size()) {
    throw InputError("max_length " + std::to_string(max_length) + " leaves no room for the reranker template's " +
                     std::to_string(prefix.size() + suffix.size()) + " tokens");
  }
  const size_t room = max_length - prefix.size() - suffix.size();
  std::string text = "<Instruct>: " + instruction + "\n<Query>: " + std::string(query) + "\n<Document>: " + std::string(document);
  std::vector<int32_t> body = tok.encode_ids(text, room);
  Encoding e;
  e.ids = prefix;
  e.ids.insert(e.ids.end(), body.begin(), body.end());
  e.ids.insert(e.ids.end(), suffix.begin(), suffix.end());
  e.type_ids.assign(e.ids.size(), 0);
  e.tokens.reserve(e.ids.size());
  for (int32_t id : e.ids) e.tokens.push_back(tok.id_to_token(id));
  return e;
}

}  // namespace rerank

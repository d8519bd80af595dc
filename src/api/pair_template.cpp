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

Encoding from_ids(const Tokenizer& tok, std::vector<int32_t> ids) {
  Encoding e;
  e.ids = std::move(ids);
  e.type_ids.assign(e.ids.size(), 0);
  e.tokens.reserve(e.ids.size());
  for (int32_t id : e.ids) e.tokens.push_back(tok.id_to_token(id));
  return e;
}

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
  std::vector<int32_t> ids = prefix;
  ids.insert(ids.end(), body.begin(), body.end());
  ids.insert(ids.end(), suffix.begin(), suffix.end());
  return from_ids(tok, std::move(ids));
}

// The template split around the document's tokens: CausalLM: head = prefix + "<Instruct>: ...<Query>: {q}\n
// <Document>:", tail = suffix (one sequence); seq-cls: first = the pair's first text, head = "<Document>:", tail =
// suffix. The document's ids are those of " " + document: byte-level BPE's pre-tokenizer always splits between
// ":" and a following space, and before an added token, so head + ids(" " + doc) + tail is exactly the ids of
// the whole formatted text.
std::vector<Encoding> encode_scored_chunks(const Model& model, std::string_view query, std::string_view document,
                                           const PredictOptions& options, size_t max_length, size_t doc_cap, bool chunking,
                                           size_t overlap) {
  const Tokenizer& tok = model.tokenizer();
  if (!uses_reranker_template(model, options)) throw InputError("encode_scored_chunks: the pair has no reranker template");
  const std::string instruction = options.instruction.empty() ? kDefaultInstruction : options.instruction;
  const std::string qpart = "<Instruct>: " + instruction + "\n<Query>: " + std::string(query) + "\n";
  const bool causal = model.info().causal_lm;
  std::vector<int32_t> first, head;
  if (causal) {
    head = tok.encode_ids(kPrefix);
    const auto rest = tok.encode_ids(qpart + "<Document>:");
    head.insert(head.end(), rest.begin(), rest.end());
  } else {
    first = tok.encode_ids(std::string(kPrefix) + qpart);
    head = tok.encode_ids("<Document>:");
  }
  const std::vector<int32_t> tail = tok.encode_ids(kSuffix);
  const size_t specials = causal ? 0 : tok.num_special_tokens(true), fixed = specials + first.size() + head.size() + tail.size();
  std::vector<int32_t> doc = tok.encode_ids(std::string(" ").append(document), doc_cap ? doc_cap : SIZE_MAX);
  auto make = [&](std::vector<int32_t>::const_iterator b, std::vector<int32_t>::const_iterator e, size_t cut) {
    std::vector<int32_t> second = head;
    second.insert(second.end(), b, e);
    if (causal) {
      if (second.size() + tail.size() > cut) second.resize(cut - tail.size());  // the model card cuts the body's end
      second.insert(second.end(), tail.begin(), tail.end());
      return from_ids(tok, std::move(second));
    }
    second.insert(second.end(), tail.begin(), tail.end());
    return tok.assemble_pair(first, std::move(second), cut);  // LongestFirst, as encode_pair
  };
  const size_t prefix_len = causal ? tok.encode_ids(kPrefix).size() : 0;
  if (max_length <= prefix_len + tail.size() || (chunking && max_length <= fixed)) {
    throw InputError("max_length " + std::to_string(max_length) + " leaves no room for the document after the reranker "
                     "template's " + std::to_string(fixed) + " tokens (with the query)");
  }
  if (!chunking) return {make(doc.begin(), doc.end(), max_length)};
  const size_t window = max_length - fixed, step = window > overlap ? window - overlap : 1;
  std::vector<Encoding> out;
  for (size_t start = 0;; start += step) {
    const size_t end = std::min(doc.size(), start + window);
    out.push_back(make(doc.begin() + static_cast<std::ptrdiff_t>(start), doc.begin() + static_cast<std::ptrdiff_t>(end), max_length));
    if (end >= doc.size()) break;
  }
  return out;
}

}  // namespace rerank

// rerank/model.hpp — an immutable, shareable encoder model (BERT, RoBERTa, XLM-RoBERTa, ELECTRA, ModernBERT) loaded from a Hugging Face model directory.
//
//   std::shared_ptr<const rerank::Model> m = rerank::Model::load("path/to/ms-marco-MiniLM-L-6-v2");
//   std::cout << m->info().num_layers << " layers, max length " << m->info().max_length << "\n";
//
// A directory holds what the Hub serves: config.json, model.safetensors (or shards + model.safetensors.index.json;
// F32/F16/BF16), tokenizer.json (or vocab.txt + tokenizer_config.json), and for sentence-transformers bi-encoders
// modules.json, 1_Pooling/config.json, sentence_bert_config.json and a Normalize module. Shapes come from
// config.json and every tensor is checked against them.
//
// Thread safety: a Model is immutable after load; share one shared_ptr<const Model> between any number of
// threads, each with its own CrossEncoder/BiEncoder (which hold the per-thread scratch).
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "rerank/tokenizer.hpp"

namespace rerank {

/// What turns logits into CrossEncoder.predict's scores (sentence-transformers' `activation_fn`).
enum class Activation { Identity, Sigmoid, Tanh, Softmax };

/// The model's description, from config.json and the sentence-transformers files.
struct ModelInfo {
  std::filesystem::path directory;
  std::string model_type;    ///< config.json's model_type: bert | roberta | xlm-roberta | electra | modernbert | qwen2 | qwen3
  std::string architecture;  ///< e.g. "BertForSequenceClassification", "XLMRobertaModel"
  std::string hidden_act;    ///< gelu | gelu_new | relu | ...
  int hidden_size = 0, num_layers = 0, num_heads = 0, intermediate_size = 0;
  int vocab_size = 0, max_position_embeddings = 0, type_vocab_size = 0;
  float layer_norm_eps = 1e-12f;
  bool has_classifier = false;  ///< pooler + classifier (a cross-encoder)
  /// A decoder *ForCausalLM checkpoint scored as a reranker (Qwen3-Reranker): one logit, logit("yes") - logit("no")
  /// at the last token (sentence-transformers' LogitScore), Sigmoid = P(yes). has_classifier is set too.
  bool causal_lm = false;
  int32_t true_token_id = -1, false_token_id = -1;  ///< causal_lm: the tokenizer's "yes" and "no"
  int num_labels = 0;           ///< classifier outputs (0 without a classifier)
  Activation activation = Activation::Identity;
  /// Longest input the architecture's positions allow (BERT: max_position_embeddings; RoBERTa / XLM-R:
  /// max_position_embeddings - pad_token_id - 1, e.g. 8194 -> 8192).
  size_t max_sequence_length = 512;
  /// Default maximum tokens per input, special tokens included (sentence-transformers' rule: max_seq_length,
  /// else tokenizer model_max_length capped by max_position_embeddings; then capped by max_sequence_length).
  size_t max_length = 512;
  /// sentence-transformers pooling modes in output order (cls, max, mean, mean_sqrt_len, weightedmean, lasttoken);
  /// empty for a model without a Pooling module.
  std::vector<std::string> pooling;
  bool normalize = false;     ///< a Normalize module follows pooling
  /// sentence-transformers 5/6 default prompt (config_sentence_transformers.json prompts[default_prompt_name]),
  /// prepended to each query / text; empty when none.
  std::string default_prompt;
  /// All prompts of config_sentence_transformers.json by name (Qwen3-Embedding: "query", "document").
  std::map<std::string, std::string> prompts;
  std::string weights_dtype;  ///< dtype of the checkpoint's weights (F32, F16, BF16)
  int embedding_dim() const { return hidden_size * static_cast<int>(pooling.empty() ? 1 : pooling.size()); }
};

const char* activation_name(Activation a);

/// Arithmetic of the encoder's matrix products. FP32 is exact (the reference); BF16 rounds weights and
/// activations to bfloat16 with fp32 accumulation (AMX / AVX512-BF16 through oneDNN); INT8 quantises weights per
/// output channel and activations per token, symmetrically, with SmoothQuant factors calibrated at packing time, on
/// the products an architecture marks int8-safe (BERT family: Q/K/V and FFN up; the others run as in BF16).
/// Attention products run in bf16 in both reduced modes; LayerNorm, softmax and activations stay fp32.
enum class Precision { FP32, BF16, INT8 };
const char* precision_name(Precision p);
/// "fp32" | "bf16" | "int8" (case-insensitive). Throws InputError otherwise.
Precision parse_precision(const std::string& name);

class Model {
 public:
  /// Loads and validates a model directory. Throws ModelError naming the file and field at fault.
  static std::shared_ptr<const Model> load(const std::filesystem::path& dir);

  const ModelInfo& info() const;
  const Tokenizer& tokenizer() const;

  ~Model();
  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace rerank

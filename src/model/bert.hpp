// The BERT encoder (absolute positions, post-LayerNorm) as transformers' BertModel computes it, over sequences
// packed back to back without padding. RoBERTa / XLM-R (positions from padding_idx + 1, skipping padding) and
// ELECTRA (embeddings of their own width, projected) reuse it with options; each file adds its head.
#pragma once
#include <string>
#include <vector>

#include "model/heads.hpp"

namespace rerank::model {

struct BertBodyOptions {
  std::vector<std::string> prefixes;  // tensor name prefixes to try, e.g. {"", "bert."}
  int padding_idx = -1;               // RoBERTa: positions are padding_idx + 1 + i, padding ids at padding_idx
  int embedding_size = 0;             // ELECTRA: width of the embeddings when != hidden_size (0: hidden_size)
  bool type_ids = true;               // false: token type ids ignored (all 0), as when the tokenizer sends none
};

/// Reads the BERT-family fields of config.json (type_vocab_size, layer_norm_eps, hidden_act, position type).
void configure_bert_family(const nlohmann::json& c, const std::filesystem::path& file, ModelInfo& info);

class BertEncoder : public Architecture {
 public:
  void encode(const std::vector<Sequence>& seqs, Precision p, Scratch& s, ThreadPool& pool) const override;
  void classify(const std::vector<Sequence>& seqs, const Scratch& s, float* logits) const override;

 protected:
  BertEncoder(const ModelInfo& info, BertBodyOptions opt) : info_(info), opt_(std::move(opt)) {}
  /// Loads embeddings and layers; the caller then loads head_.
  void load_body(const TensorStore& store);
  WeightLoader loader(const TensorStore& store) { return WeightLoader(store, opt_.prefixes, owned_); }
  void embed(const std::vector<Sequence>& seqs, Scratch& s, ThreadPool& pool) const;

  struct Layer {
    Linear qkv;  // query, key and value fused into one [3H, H] matrix
    Linear attn_out;
    Norm ln1;
    Linear inter, out;
    Norm ln2;
  };
  ModelInfo info_;
  BertBodyOptions opt_;
  const float *word_ = nullptr, *pos_ = nullptr, *type_ = nullptr;
  Norm emb_ln_;
  Linear project_;  // ELECTRA's embeddings_project (when embedding_size != hidden_size)
  std::vector<Layer> layers_;
  // The last layer's query and [key value] rows of its fused matrix (views, packed on their own): with
  // Scratch::first_token_only, K and V are computed for all tokens and Q for the first tokens only.
  Linear last_q_, last_kv_;
  // The last layer's FFN up for those first-token rows (a view of its intermediate.dense, packed on its own: bf16 in
  // INT8 mode, see load_body).
  Linear last_inter_;
  ClassificationHead head_;

 private:
  /// The last layer when only the first tokens' states are read (s.first_token_only and a head on the first token).
  void last_layer_first_tokens(const std::vector<Sequence>& seqs, Precision p, AttentionShape shape, kernels::Act act,
                               Scratch& s, ThreadPool& pool) const;
};

}  // namespace rerank::model

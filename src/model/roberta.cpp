// RoBERTa and XLM-RoBERTa (RobertaModel / XLMRobertaModel, *ForSequenceClassification): BERT's encoder with
// positions counted from padding_idx + 1 (padding ids keep padding_idx, as create_position_ids_from_input_ids),
// token type ids ignored when type_vocab_size is 1 (the tokenizers send none), and the classification head
// dense -> tanh -> out_proj on <s> (no pooler).
#include "model/bert.hpp"
#include "model/config.hpp"
#include "rerank/error.hpp"

namespace rerank::model {
namespace {

int padding_idx(const nlohmann::json& c, const std::filesystem::path& file) {
  return config_int(c, file, "pad_token_id", 1, false, 0, 1 << 24);
}

void configure_roberta(const nlohmann::json& c, const std::filesystem::path& file, ModelInfo& info) {
  configure_bert_family(c, file, info);
  info.type_vocab_size = config_int(c, file, "type_vocab_size", 1, false, 1, 1 << 16);
  const int pad = padding_idx(c, file);
  if (pad + 1 >= info.max_position_embeddings) {
    throw ModelError(file.string() + ": pad_token_id " + std::to_string(pad) + " leaves no positions below max_position_embeddings " +
                     std::to_string(info.max_position_embeddings));
  }
  info.max_sequence_length = static_cast<size_t>(info.max_position_embeddings - pad - 1);  // 514 -> 512, 8194 -> 8192
}

class Roberta final : public BertEncoder {
 public:
  Roberta(const nlohmann::json& c, const std::filesystem::path& file, const ModelInfo& info, const TensorStore& store)
      : BertEncoder(info, {{"", "roberta.", "model."}, padding_idx(c, file), 0, info.type_vocab_size > 1}) {
    load_body(store);
    if (!info.has_classifier) return;
    WeightLoader ld = loader(store);
    const int h = info.hidden_size;
    head_.dense = ld.linear("classifier.dense", h, h);
    head_.act = kernels::Act::Tanh;
    head_.out = ld.linear("classifier.out_proj", info.num_labels, h);
  }
};

std::unique_ptr<Architecture> load_roberta(const nlohmann::json& c, const std::filesystem::path& file, const ModelInfo& info,
                                           const TensorStore& store) {
  return std::make_unique<Roberta>(c, file, info, store);
}

}  // namespace

extern const ArchitectureSpec kRobertaSpec = {"roberta", configure_roberta, load_roberta};
extern const ArchitectureSpec kXlmRobertaSpec = {"xlm-roberta", configure_roberta, load_roberta};

}  // namespace rerank::model

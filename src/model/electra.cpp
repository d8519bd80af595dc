// ELECTRA discriminators (ElectraModel / ElectraForSequenceClassification): BERT's encoder, embeddings of
// `embedding_size` projected to hidden_size by embeddings_project when the two differ, and the head
// dense -> gelu -> out_proj on the first token.
#include "model/bert.hpp"
#include "model/config.hpp"
#include "rerank/error.hpp"

namespace rerank::model {
namespace {

void configure_electra(const nlohmann::json& c, const std::filesystem::path& file, ModelInfo& info) {
  configure_bert_family(c, file, info);
  config_int(c, file, "embedding_size", info.hidden_size, false, 1, 1 << 16);
}

class Electra final : public BertEncoder {
 public:
  Electra(const nlohmann::json& c, const std::filesystem::path& file, const ModelInfo& info, const TensorStore& store)
      : BertEncoder(info, {{"", "electra.", "model."}, -1, config_int(c, file, "embedding_size", info.hidden_size, false, 1, 1 << 16), true}) {
    load_body(store);
    if (!info.has_classifier) return;
    WeightLoader ld = loader(store);
    const int h = info.hidden_size;
    head_.dense = ld.linear("classifier.dense", h, h);
    head_.act = kernels::Act::Gelu;  // get_activation("gelu"), whatever hidden_act says
    head_.out = ld.linear("classifier.out_proj", info.num_labels, h);
  }
};

std::unique_ptr<Architecture> load_electra(const nlohmann::json& c, const std::filesystem::path& file, const ModelInfo& info,
                                           const TensorStore& store) {
  return std::make_unique<Electra>(c, file, info, store);
}

}  // namespace

extern const ArchitectureSpec kElectraSpec = {"electra", configure_electra, load_electra};

}  // namespace rerank::model

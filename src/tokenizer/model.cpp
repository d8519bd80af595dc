// model.cpp — the registry of model types (see model.hpp). Adding a model type is one entry in kModels.
#include "tokenizer/model.hpp"

#include "tokenizer/bpe.hpp"
#include "tokenizer/unigram.hpp"
#include "tokenizer/wordpiece.hpp"

namespace rerank::tok {

namespace {

struct ModelEntry {
  const char* type;
  ModelParser parse;
};

const ModelEntry kModels[] = {
    {"WordPiece", &WordPiece::parse},
    {"BPE", &Bpe::parse},
    {"Unigram", &Unigram::parse},
};

}  // namespace

std::unique_ptr<Model> model_from_json(const Json& j, const std::string& source) {
  if (!j.is_object()) fail(source, "model", "missing or not an object");
  std::string type = get_string(j, "type", "", source, "model");
  if (type.empty() && j.contains("continuing_subword_prefix")) type = "WordPiece";
  std::string supported;
  for (const ModelEntry& e : kModels) {
    if (type == e.type) return e.parse(j, source);
    supported += std::string(supported.empty() ? "" : ", ") + e.type;
  }
  fail(source, "model.type", "unsupported model type '" + type + "' (supported: " + supported + ")");
}

}  // namespace rerank::tok

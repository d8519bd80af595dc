// Embedder implementations: a local sentence-transformers bi-encoder (rerank::BiEncoder); the remote
// OpenAI-compatible one is src/clients/openai_embeddings.cpp.
#include "clients/remote.hpp"
#include "collection/chunker.hpp"
#include "rerank/bi_encoder.hpp"
#include "rerank/error.hpp"
#include "rerank/index.hpp"

namespace rerank {

size_t Embedder::count_tokens(std::string_view text) const { return collection::count_words(text); }

std::unique_ptr<PreparedTexts> Embedder::prepare(std::vector<std::string> texts, EmbedKind kind) const {
  auto p = std::make_unique<PreparedTexts>();
  p->texts = std::move(texts);
  p->kind = kind;
  return p;
}

std::vector<std::vector<float>> Embedder::embed_prepared(const PreparedTexts& prepared, const std::vector<size_t>& items) {
  std::vector<std::string> texts;
  texts.reserve(items.size());
  for (size_t i : items) texts.push_back(prepared.texts.at(i));
  return embed(texts, prepared.kind);
}

namespace {

struct TokenizedTexts : PreparedTexts {
  std::vector<Encoding> encodings;
};

class BiEncoderEmbedder : public Embedder {
 public:
  BiEncoderEmbedder(const std::filesystem::path& dir, EngineOptions options)
      : model_(Model::load(dir)), encoder_(model_, options) {
    std::error_code ec;
    auto abs = std::filesystem::canonical(dir, ec);
    identity_ = "bi-encoder:" + (ec ? dir.string() : abs.string());
  }
  std::vector<std::vector<float>> embed(const std::vector<std::string>& texts, EmbedKind) override {
    return encoder_.encode(texts);
  }
  size_t dimension() const override { return encoder_.dimension(); }
  std::string identity() const override { return identity_; }
  size_t window_tokens() const override {
    size_t special = model_->tokenizer().num_special_tokens(false);
    return model_->info().max_length > special ? model_->info().max_length - special : model_->info().max_length;
  }
  size_t count_tokens(std::string_view text) const override { return model_->tokenizer().tokenize(text).size(); }
  std::unique_ptr<PreparedTexts> prepare(std::vector<std::string> texts, EmbedKind kind) const override {
    auto p = std::make_unique<TokenizedTexts>();
    p->encodings = encoder_.tokenize(texts);
    for (auto& e : p->encodings) e.tokens.clear();  // the strings are not needed to embed
    p->texts = std::move(texts);
    p->kind = kind;
    return p;
  }
  std::vector<std::vector<float>> embed_prepared(const PreparedTexts& prepared, const std::vector<size_t>& items) override {
    const auto* t = dynamic_cast<const TokenizedTexts*>(&prepared);
    if (!t) return Embedder::embed_prepared(prepared, items);
    std::vector<Encoding> encs;
    encs.reserve(items.size());
    for (size_t i : items) encs.push_back(t->encodings.at(i));
    return encoder_.encode_encoded(encs);
  }

 private:
  std::shared_ptr<const Model> model_;
  BiEncoder encoder_;
  std::string identity_;
};

}  // namespace

std::shared_ptr<Embedder> make_bi_encoder_embedder(const std::filesystem::path& model_dir, EngineOptions options) {
  return std::make_shared<BiEncoderEmbedder>(model_dir, options);
}

std::shared_ptr<Embedder> embedder_from_identity(const std::string& identity, EngineOptions options) {
  const std::string prefix = "bi-encoder:";
  if (identity.rfind(prefix, 0) == 0) return make_bi_encoder_embedder(identity.substr(prefix.size()), options);
  std::string model, base;
  if (parse_openai_identity(identity, model, base)) {
    RemoteOptions ro;
    ro.base_url = base;  // key: $OPENAI_API_KEY
    return make_openai_embedder(model, ro);
  }
  throw Error("unknown embedder \"" + identity + "\" recorded in the collection (give one with --bi-encoder)");
}

}  // namespace rerank

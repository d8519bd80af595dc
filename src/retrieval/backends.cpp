// Model specs → rerankers and embedders (see rerank/reranker.hpp).
#include <filesystem>

#include "clients/remote.hpp"
#include "rerank/error.hpp"
#include "rerank/hub.hpp"
#include "rerank/reranker.hpp"

namespace rerank {

namespace {

class CrossEncoderReranker : public Reranker {
 public:
  CrossEncoderReranker(std::shared_ptr<CrossEncoder> ce, PredictOptions options, std::string name)
      : ce_(std::move(ce)), options_(options), name_(std::move(name)) {
    if (!ce_) throw Error("make_cross_encoder_reranker: null encoder");
  }
  std::vector<float> score(const std::string& query, const std::vector<std::string>& documents) override {
    std::vector<std::pair<std::string, std::string>> pairs;
    pairs.reserve(documents.size());
    for (const auto& d : documents) pairs.emplace_back(query, d);
    return ce_->predict_scores(pairs, options_);
  }
  std::string name() const override { return name_; }

 private:
  std::shared_ptr<CrossEncoder> ce_;
  PredictOptions options_;
  std::string name_;
};

bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

std::string display_name(const std::string& spec) {
  std::filesystem::path p(spec);
  std::string n = p.filename().string();
  if (n.empty()) n = p.parent_path().filename().string();
  return n.empty() ? spec : n;
}

}  // namespace

bool is_remote_spec(const std::string& spec) { return starts_with(spec, "cohere:") || starts_with(spec, "openai:"); }

std::shared_ptr<Reranker> make_cross_encoder_reranker(std::shared_ptr<CrossEncoder> encoder, PredictOptions options,
                                                      std::string name) {
  if (name.empty() && encoder) name = display_name(encoder->model().info().directory.string());
  return std::make_shared<CrossEncoderReranker>(std::move(encoder), options, std::move(name));
}

std::shared_ptr<Reranker> make_reranker(const std::string& spec, const BackendOptions& options) {
  if (spec.empty()) throw InputError("empty reranker spec");
  if (starts_with(spec, "cohere:")) {
    std::string model = spec.substr(7);
    if (model.empty()) throw InputError("reranker \"" + spec + "\": give the Cohere model, e.g. cohere:rerank-v3.5");
    return make_cohere_reranker(model, options.remote);
  }
  if (starts_with(spec, "openai:"))
    throw InputError("reranker \"" + spec + "\": OpenAI has no rerank API; use cohere:MODEL, a model directory or a Hub id");
  auto ce = std::make_shared<CrossEncoder>(Model::load(resolve_model(spec)), options.engine);
  return make_cross_encoder_reranker(std::move(ce), options.predict, display_name(spec));
}

std::shared_ptr<Embedder> make_embedder(const std::string& spec, const BackendOptions& options) {
  if (spec.empty()) throw InputError("empty bi-encoder spec");
  if (starts_with(spec, "openai:")) {
    std::string model = spec.substr(7);
    if (model.empty()) throw InputError("bi-encoder \"" + spec + "\": give the model, e.g. openai:text-embedding-3-small");
    return make_openai_embedder(model, options.remote);
  }
  if (starts_with(spec, "cohere:"))
    throw InputError("bi-encoder \"" + spec + "\": Cohere embeddings are not supported; use openai:MODEL (any OpenAI-compatible endpoint)");
  return make_bi_encoder_embedder(resolve_model(spec), options.engine);
}

std::shared_ptr<Embedder> embedder_from_identity(const std::string& identity, const BackendOptions& options) {
  std::string model, base;
  if (parse_openai_identity(identity, model, base)) {
    RemoteOptions ro = options.remote;
    ro.base_url = base;  // the service the collection was embedded with; the key comes from the options or $OPENAI_API_KEY
    return make_openai_embedder(model, ro);
  }
  return embedder_from_identity(identity, options.engine);
}

}  // namespace rerank

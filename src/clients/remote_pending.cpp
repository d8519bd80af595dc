// Placeholder until the remote clients land (issue 6): remote specs fail with a clear message.
#include "rerank/error.hpp"
#include "rerank/reranker.hpp"

namespace rerank {
std::shared_ptr<Reranker> make_cohere_reranker(const std::string& model, const RemoteOptions&) {
  throw InputError("cohere:" + model + ": remote rerankers are not available in this build");
}
std::shared_ptr<Embedder> make_openai_embedder(const std::string& model, const RemoteOptions&) {
  throw InputError("openai:" + model + ": remote embedders are not available in this build");
}
}  // namespace rerank

// cohere.cpp — "cohere:MODEL": a Reranker over a Cohere-compatible POST {base}/v2/rerank (Cohere's API, or our own
// `rerank serve`). Documents go in batches of at most 1000 (RemoteOptions::max_batch overrides; a 413 answer halves
// the batch and tries again) with top_n = the batch size, so every document comes back; the answer is checked (each index exactly once, in range, a finite
// numeric relevance_score) and the scores are returned in document order.
#include <cmath>

#include "clients/remote.hpp"
#include "clients/remote_common.hpp"

namespace rerank {

namespace {

constexpr size_t kCohereMaxDocuments = 1000;

class CohereReranker : public Reranker {
 public:
  CohereReranker(std::string model, const RemoteOptions& o)
      : model_(std::move(model)), what_("Cohere rerank (cohere:" + model_ + ")"),
        client_(remote::policy(o, what_), what_) {
    const std::string base = remote::first_of(o.base_url, {"COHERE_BASE_URL"}, "https://api.cohere.com");
    url_ = http::normalize_base_url(base, what_) + "/v2/rerank";
    key_ = remote::first_of(o.api_key, {"COHERE_API_KEY", "CO_API_KEY"});
    batch_ = o.max_batch ? o.max_batch : kCohereMaxDocuments;
  }

  std::vector<float> score(const std::string& query, const std::vector<std::string>& documents) override {
    std::vector<float> out(documents.size());
    remote::in_batches(documents.size(), batch_, [&](size_t start, size_t n) {
      nlohmann::json body;
      body["model"] = model_;
      body["query"] = query;
      body["documents"] = std::vector<std::string>(documents.begin() + start, documents.begin() + start + n);
      body["top_n"] = n;
      http::Response r =
          client_.post_json(url_, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), http::bearer(key_));
      parse(http::parse_json(r, what_, url_), n, out.data() + start);
    });
    return out;
  }

  std::string name() const override { return "cohere:" + model_; }

 private:
  void parse(const nlohmann::json& j, size_t n, float* scores) const {
    remote::for_each_indexed(j, "results", n, {"results", "document", "appears twice in the results"}, what_, url_,
                             [&](size_t k, const nlohmann::json& item, const std::string& at) {
                               auto s = item.find("relevance_score");
                               if (s == item.end() || !s->is_number() || !std::isfinite(s->get<double>()))
                                 remote::malformed(what_, url_, at + ".relevance_score must be a finite number");
                               scores[k] = s->get<float>();
                             });
  }

  std::string model_, what_, url_, key_;
  size_t batch_ = kCohereMaxDocuments;
  http::Client client_;
};

}  // namespace

std::shared_ptr<Reranker> make_cohere_reranker(const std::string& model, const RemoteOptions& options) {
  if (model.empty()) throw InputError("cohere: give the model, e.g. cohere:rerank-v3.5");
  return std::make_shared<CohereReranker>(model, options);
}

}  // namespace rerank

// openai_embeddings.cpp — "openai:MODEL": an Embedder over an OpenAI-compatible POST {base}/embeddings (OpenAI,
// vLLM, Ollama, TEI, our own `rerank serve`). Texts go in batches of at most 2048 (RemoteOptions::max_batch
// overrides; a 413 answer halves the batch and tries again) with encoding_format "float"; the answer is checked (each data[].index exactly once, in range, one
// finite number list per text, the same dimension throughout) and returned in text order. Vectors are returned as
// the service sends them; a Collection L2-normalises what it stores, as the Embedder contract says.
// dimension() is known after the first embed(); before that it costs one probe request.
// identity() = "openai:MODEL@BASE_URL" (never the key), which embedder_from_identity() turns back into this.
#include <cmath>

#include "clients/remote.hpp"
#include "clients/remote_common.hpp"

namespace rerank {

namespace {

constexpr size_t kOpenAiMaxInputs = 2048;

/// The URL without "user:password@" (identities are stored in collections; credentials must not be).
std::string without_userinfo(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const size_t host = scheme + 3, slash = url.find('/', host), at = url.find('@', host);
  if (at == std::string::npos || (slash != std::string::npos && at > slash)) return url;
  return url.substr(0, host) + url.substr(at + 1);
}

class OpenAiEmbedder : public Embedder {
 public:
  OpenAiEmbedder(std::string model, const RemoteOptions& o)
      : model_(std::move(model)), what_("OpenAI embeddings (openai:" + model_ + ")"),
        client_(remote::policy(o, what_), what_) {
    const std::string base =
        http::normalize_base_url(remote::first_of(o.base_url, {"OPENAI_BASE_URL"}, "https://api.openai.com/v1"), what_);
    url_ = base + "/embeddings";
    key_ = remote::first_of(o.api_key, {"OPENAI_API_KEY"});
    batch_ = o.max_batch ? o.max_batch : kOpenAiMaxInputs;
    identity_ = "openai:" + model_ + "@" + without_userinfo(base);
  }

  std::vector<std::vector<float>> embed(const std::vector<std::string>& texts, EmbedKind) override {
    std::vector<std::vector<float>> out(texts.size());
    remote::in_batches(texts.size(), batch_, [&](size_t start, size_t n) {
      nlohmann::json body;
      body["model"] = model_;
      body["input"] = std::vector<std::string>(texts.begin() + start, texts.begin() + start + n);
      body["encoding_format"] = "float";
      http::Response r =
          client_.post_json(url_, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), http::bearer(key_));
      parse(http::parse_json(r, what_, url_), n, out.data() + start);
    });
    return out;
  }

  size_t dimension() const override {
    if (!dim_) const_cast<OpenAiEmbedder*>(this)->embed({"dimension probe"}, EmbedKind::Query);
    return dim_;
  }
  std::string identity() const override { return identity_; }
  size_t window_tokens() const override { return 0; }  // unknown: collections chunk by words (512 by default)

 private:
  void parse(const nlohmann::json& j, size_t n, std::vector<float>* vecs) {
    remote::for_each_indexed(j, "data", n, {"embeddings", "input", "has two embeddings"}, what_, url_,
                             [&](size_t k, const nlohmann::json& item, const std::string& at) {
                               auto e = item.find("embedding");
                               if (e == item.end() || !e->is_array() || e->empty())
                                 remote::malformed(what_, url_, at + ".embedding must be a non-empty list of numbers" +
                                                                    std::string(e != item.end() && e->is_string() ? " (got a string: base64?)" : ""));
                               if (dim_ && e->size() != dim_)
                                 remote::malformed(what_, url_, at + ".embedding has " + std::to_string(e->size()) +
                                                                    " dimensions, earlier ones " + std::to_string(dim_));
                               std::vector<float>& v = vecs[k];
                               v.reserve(e->size());
                               for (size_t d = 0; d < e->size(); ++d) {
                                 const nlohmann::json& x = (*e)[d];
                                 if (!x.is_number() || !std::isfinite(x.get<double>()))
                                   remote::malformed(what_, url_, at + ".embedding[" + std::to_string(d) + "] is not a finite number");
                                 v.push_back(x.get<float>());
                               }
                               dim_ = e->size();
                             });
  }

  std::string model_, what_, url_, key_, identity_;
  size_t batch_ = kOpenAiMaxInputs;
  size_t dim_ = 0;
  http::Client client_;
};

}  // namespace

std::shared_ptr<Embedder> make_openai_embedder(const std::string& model, const RemoteOptions& options) {
  if (model.empty()) throw InputError("openai: give the model, e.g. openai:text-embedding-3-small");
  return std::make_shared<OpenAiEmbedder>(model, options);
}

bool parse_openai_identity(const std::string& identity, std::string& model, std::string& base_url) {
  if (identity.rfind("openai:", 0) != 0) return false;
  const std::string rest = identity.substr(7);
  size_t at = rest.rfind("@https://");
  if (at == std::string::npos) at = rest.rfind("@http://");
  if (at == std::string::npos || at == 0) return false;
  model = rest.substr(0, at);
  base_url = rest.substr(at + 1);
  return true;
}

}  // namespace rerank

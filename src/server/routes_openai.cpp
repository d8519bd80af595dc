// routes_openai.cpp — OpenAI-compatible embeddings for bi-encoders:
//   POST /v1/embeddings {input: string | [string], model?, encoding_format?: "float" | "base64", dimensions?}
//     -> {object: "list", data: [{object: "embedding", index, embedding}], model, usage: {prompt_tokens, total_tokens}}
//   GET /v1/models -> {object: "list", data: [{id, object: "model", owned_by, created}]}
// Embeddings are exactly SentenceTransformer.encode's (normalized only when the model has a Normalize module).
// Inputs longer than the model's maximum are truncated, as sentence-transformers does. base64 is the little-endian
// float32 array, which the official SDKs request by default and decode.
#include <cstring>

#include "server/state.hpp"

namespace rerank::server {

namespace {

std::string base64(const std::vector<float>& v) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes(v.size() * 4, '\0');
  for (size_t i = 0; i < v.size(); ++i) {
    uint32_t u;
    std::memcpy(&u, &v[i], 4);
    for (int k = 0; k < 4; ++k) bytes[i * 4 + k] = static_cast<char>((u >> (8 * k)) & 0xff);  // little-endian
  }
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t n = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    out += tbl[(n >> 18) & 63];
    out += tbl[(n >> 12) & 63];
    out += tbl[(n >> 6) & 63];
    out += tbl[n & 63];
  }
  if (i < bytes.size()) {
    uint32_t n = uint8_t(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= uint8_t(bytes[i + 1]) << 8;
    out += tbl[(n >> 18) & 63];
    out += tbl[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? tbl[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

void embeddings(State& st, const httplib::Request& req, httplib::Response& res) {
  const Json body = parse_body(req.body);
  std::vector<std::string> inputs;
  auto it = body.find("input");
  if (it != body.end() && it->is_string()) {
    inputs.push_back(it->get<std::string>());
  } else {
    if (it != body.end() && it->is_array() && !it->empty() && !(*it)[0].is_string())
      throw ApiError(422, "field \"input\": token-id inputs are not supported; send strings");
    inputs = parse_texts(body, "input", false, st.options.max_documents);
  }
  const std::string format = optional_string(body, "encoding_format");
  if (!format.empty() && format != "float" && format != "base64")
    throw ApiError(422, "field \"encoding_format\" must be \"float\" or \"base64\"");
  ServedModel& m = pick_model(st.models, optional_string(body, "model"), false);
  if (auto dims = optional_int(body, "dimensions", 1); dims && *dims != m.model->info().embedding_dim())
    throw ApiError(422, "model '" + m.name + "' makes " + std::to_string(m.model->info().embedding_dim()) +
                            "-dimensional embeddings; \"dimensions\" cannot change that");
  size_t tokens = 0;
  auto encs = make_texts(m, inputs, true, st.options.max_request_tokens, &tokens);
  RequestContext& ctx = request_context();
  ctx.model = m.name;
  auto embs = m.scheduler->run(std::move(encs), &ctx.batch);
  ctx.batched = true;
  OJson data = OJson::array();
  for (size_t i = 0; i < embs.size(); ++i) {
    OJson d;
    d["object"] = "embedding";
    d["index"] = i;
    if (format == "base64")
      d["embedding"] = base64(embs[i]);
    else
      d["embedding"] = embs[i];
    data.push_back(std::move(d));
  }
  OJson out;
  out["object"] = "list";
  out["data"] = std::move(data);
  out["model"] = m.name;
  out["usage"] = OJson{{"prompt_tokens", tokens}, {"total_tokens", tokens}};
  reply(res, out);
}

void models(State& st, const httplib::Request&, httplib::Response& res) {
  OJson data = OJson::array();
  for (const auto& m : st.models)
    data.push_back(OJson{{"id", m->name}, {"object", "model"}, {"created", 0}, {"owned_by", "rerank"}});
  reply(res, OJson{{"object", "list"}, {"data", data}});
}

}  // namespace

void register_openai_routes(Routes& http, State& st) {
  http.Post("/v1/embeddings", guarded([&st](const httplib::Request& q, httplib::Response& r) { embeddings(st, q, r); }));
  http.Post("/embeddings", guarded([&st](const httplib::Request& q, httplib::Response& r) { embeddings(st, q, r); }));
  http.Get("/v1/models", guarded([&st](const httplib::Request& q, httplib::Response& r) { models(st, q, r); }));
}

}  // namespace rerank::server

// models.cpp — loading and naming the served models, and turning request texts into encodings.
//
// Pairs are built from the query's and the document's own tokens with the tokenizers' LongestFirst rule, exactly
// as Tokenizer::encode_pair does (checked at load against encode_pair); this lets a document be cut to
// max_tokens_per_doc before pairing, or split into chunks that each fit next to the query.
#include "server/models.hpp"

#include <algorithm>
#include <filesystem>

#include "rerank/hub.hpp"
#include "tokenizer/template.hpp"  // truncate_longest_first

namespace rerank::server {

namespace {

std::string model_name(const std::string& source) {
  std::error_code ec;
  if (std::filesystem::is_directory(source, ec)) {
    std::filesystem::path p = std::filesystem::path(source).lexically_normal();
    if (p.filename().empty()) p = p.parent_path();
    std::string n = p.filename().string();
    return n.empty() || n == "." ? source : n;
  }
  return source.substr(0, source.find('@'));
}

// Whether pairs assembled from separately tokenized texts equal encode_pair's, with and without truncation, for
// whatever template the tokenizer has (BERT's [CLS] A [SEP] B [SEP], XLM-R's <s> A </s></s> B </s>, ...).
void check_template(ServedModel& m) {
  const Tokenizer& tok = m.model->tokenizer();
  const char* q = "how do i reset my password?";
  const char* d = "Click 'Forgot password' on the sign-in page, then follow the link we e-mail you.";
  const size_t specials = tok.num_special_tokens(true);
  for (size_t max_len : {size_t{0}, specials + 9, specials + 4}) {
    Encoding want = tok.encode_pair(q, d, max_len);
    Encoding got = tok.assemble_pair(tok.encode_ids(q), tok.encode_ids(d), max_len);
    if (got.ids != want.ids || got.type_ids != want.type_ids) return;
  }
  m.pair_template = true;
}

size_t model_max_length(const ServedModel& m) { return m.model->info().max_length; }

}  // namespace

std::vector<std::unique_ptr<ServedModel>> load_models(const ServerOptions& options) {
  if (options.models.empty() && options.collection.empty() && options.opensearch.url.empty() && options.opensearch.index.empty())
    throw InputError("serve: give at least one --model (or a --collection / --opensearch index to search)");
  std::vector<std::unique_ptr<ServedModel>> out;
  for (const std::string& src : options.models) {
    auto m = std::make_unique<ServedModel>();
    m->source = src;
    m->name = model_name(src);
    for (const auto& other : out)
      if (other->name == m->name) throw InputError("serve: two models are both named '" + m->name + "'");
    m->model = Model::load(resolve_model(src));
    m->cross = m->model->info().has_classifier;
    check_template(*m);
    out.push_back(std::move(m));
  }
  return out;
}

void read_template_fields(const Json& body, PairOptions& po) {
  po.predict.template_name = optional_string(body, "template");
  if (po.predict.template_name.empty()) po.predict.template_name = "auto";
  const std::string& t = po.predict.template_name;
  if (t != "auto" && t != "qwen3-reranker" && t != "none")
    throw ApiError(422, "template '" + t + "' is not supported (auto, qwen3-reranker, none)");
  po.predict.instruction = optional_string(body, "instruction");
}

PairInputs make_pairs(const ServedModel& m, const std::string& query, const std::vector<std::string>& documents,
                      const PairOptions& opt, size_t max_request_tokens) {
  const Tokenizer& tok = m.model->tokenizer();
  const size_t max_len = model_max_length(m);
  PairInputs in;
  in.pairs.reserve(documents.size());
  in.owner.reserve(documents.size());
  auto add = [&](Encoding e, size_t owner) {
    in.tokens += e.ids.size();
    if (in.tokens > max_request_tokens)
      throw ApiError(413, "the request needs more than " + std::to_string(max_request_tokens) +
                              " tokens; send fewer or shorter documents");
    in.pairs.push_back(std::move(e));
    in.owner.push_back(owner);
  };
  if (uses_reranker_template(*m.model, opt.predict)) {  // the model card's template, cut as it cuts
    for (size_t i = 0; i < documents.size(); ++i) {
      try {
        if (!opt.chunking && !opt.max_tokens_per_doc) {
          add(encode_scored_pair(*m.model, query, documents[i], opt.predict, max_len), i);
          continue;
        }
        // the document's own tokens cut (max_tokens_per_doc) or windowed (chunking) inside the template
        const size_t cap = opt.max_tokens_per_doc ? opt.max_tokens_per_doc : max_request_tokens;
        for (Encoding& e : encode_scored_chunks(*m.model, query, documents[i], opt.predict, max_len, cap, opt.chunking,
                                                opt.chunk_overlap))
          add(std::move(e), i);
      } catch (const InputError& e) {
        throw ApiError(422, e.what());
      }
    }
    return in;
  }
  if (!m.pair_template) {
    if (opt.chunking || opt.max_tokens_per_doc)
      throw ApiError(422, "model '" + m.name + "': max_tokens_per_doc and chunking need a tokenizer whose pairs can be "
                              "assembled from token ids");
    for (size_t i = 0; i < documents.size(); ++i) {
      Encoding e = tok.encode_pair(query, documents[i], opt.truncate ? max_len : 0);
      if (!opt.truncate && e.ids.size() > max_len)
        throw ApiError(413, "documents[" + std::to_string(i) + "]: the pair has " + std::to_string(e.ids.size()) +
                                " tokens, more than the model's maximum of " + std::to_string(max_len) +
                                " (set \"truncate\": true)");
      add(std::move(e), i);
    }
    return in;
  }
  const size_t specials = tok.num_special_tokens(true);
  const size_t budget = max_len > specials ? max_len - specials : 0;
  const std::vector<int32_t> q = tok.encode_ids(query);
  for (size_t i = 0; i < documents.size(); ++i) {
    if (opt.chunking) {
      // The document's tokens (up to max_tokens_per_doc, and never more than the request may send).
      size_t cap = opt.max_tokens_per_doc ? opt.max_tokens_per_doc : max_request_tokens;
      std::vector<int32_t> d = tok.encode_ids(documents[i], cap);
      // The document gets at least half the budget; the query is cut (LongestFirst-style) to the rest.
      size_t window = budget - std::min(q.size(), budget / 2);
      if (window == 0) window = 1;
      std::vector<int32_t> qa = q;
      if (qa.size() + window > budget && budget >= window) qa.resize(budget - window);
      const size_t step = window > opt.chunk_overlap ? window - opt.chunk_overlap : 1;
      size_t start = 0;
      for (;;) {
        const size_t end = std::min(d.size(), start + window);
        add(tok.assemble_pair(qa, std::vector<int32_t>(d.begin() + static_cast<std::ptrdiff_t>(start),
                                                        d.begin() + static_cast<std::ptrdiff_t>(end))),
            i);
        if (end >= d.size()) break;
        start += step;
      }
      continue;
    }
    size_t cap = std::max(budget, q.size()) + 1;  // LongestFirst only needs this many document tokens
    if (opt.max_tokens_per_doc) cap = std::min(cap, opt.max_tokens_per_doc);
    std::vector<int32_t> d = tok.encode_ids(documents[i], cap);
    std::vector<int32_t> a = q;
    if (a.size() + d.size() > budget) {
      if (!opt.truncate)
        throw ApiError(413, "documents[" + std::to_string(i) + "]: the pair has more than " + std::to_string(max_len) +
                                " tokens, the model's maximum (set \"truncate\": true)");
      tok::truncate_longest_first(a, &d, budget);
    }
    add(tok.assemble_pair(std::move(a), std::move(d)), i);
  }
  return in;
}

std::vector<Encoding> make_texts(const ServedModel& m, const std::vector<std::string>& texts, bool truncate,
                                 size_t max_request_tokens, size_t* tokens) {
  const Tokenizer& tok = m.model->tokenizer();
  const size_t max_len = model_max_length(m);
  std::vector<Encoding> out;
  out.reserve(texts.size());
  size_t total = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    Encoding e = tok.encode(texts[i], truncate ? max_len : max_len + 1);
    if (!truncate && e.ids.size() > max_len)
      throw ApiError(413, "inputs[" + std::to_string(i) + "] has more than " + std::to_string(max_len) +
                              " tokens, the model's maximum (set \"truncate\": true)");
    e.tokens.clear();
    total += e.ids.size();
    if (total > max_request_tokens)
      throw ApiError(413, "the request needs more than " + std::to_string(max_request_tokens) +
                              " tokens; send fewer or shorter inputs");
    out.push_back(std::move(e));
  }
  if (tokens) *tokens = total;
  return out;
}

ServedModel& pick_model(const std::vector<std::unique_ptr<ServedModel>>& models, const std::string& requested, bool cross) {
  const char* kind = cross ? "cross-encoder (reranker)" : "bi-encoder (embedding model)";
  if (!requested.empty()) {
    for (const auto& m : models) {
      if (m->name != requested && m->source != requested) continue;
      if (m->cross != cross)
        throw ApiError(422, "model '" + requested + "' is not a " + kind + " and cannot serve this route");
      return *m;
    }
    std::string names;
    for (const auto& m : models) names += (names.empty() ? "" : ", ") + m->name;
    throw ApiError(404, "model '" + requested + "' is not served here (models: " + names + ")");
  }
  for (const auto& m : models)
    if (m->cross == cross) return *m;
  throw ApiError(404, std::string("no ") + kind + " is served here");
}

ServedModel& pick_any_model(const std::vector<std::unique_ptr<ServedModel>>& models, const std::string& requested) {
  if (!requested.empty()) {
    for (const auto& m : models)
      if (m->name == requested || m->source == requested) return *m;
    throw ApiError(404, "model '" + requested + "' is not served here");
  }
  if (models.empty()) throw ApiError(404, "no model is served here");
  return *models.front();
}

}  // namespace rerank::server

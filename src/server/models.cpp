// models.cpp — loading and naming the served models, and turning request texts into encodings.
//
// Pairs are built from the query's and the document's own tokens with the tokenizers' LongestFirst rule, exactly
// as Tokenizer::encode_pair does (checked at load against encode_pair); this lets a document be cut to
// max_tokens_per_doc before pairing, or split into chunks that each fit next to the query.
#include "server/models.hpp"

#include <algorithm>
#include <filesystem>

#include "rerank/hub.hpp"
#include "tokenizer/template.hpp"

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

std::vector<int32_t> content(const Encoding& e) {
  // [p0] X [p1] -> X
  if (e.ids.size() < 2) return {};
  return std::vector<int32_t>(e.ids.begin() + 1, e.ids.end() - 1);
}

Encoding assemble(const ServedModel& m, const std::vector<int32_t>& a, const std::vector<int32_t>& b, size_t b_begin,
                  size_t b_end) {
  Encoding e;
  const size_t n = 3 + a.size() + (b_end - b_begin);
  e.ids.reserve(n);
  e.type_ids.reserve(n);
  e.ids.push_back(m.p0);
  e.ids.insert(e.ids.end(), a.begin(), a.end());
  e.ids.push_back(m.p1);
  e.type_ids.assign(e.ids.size(), m.type_a);
  e.ids.insert(e.ids.end(), b.begin() + static_cast<std::ptrdiff_t>(b_begin), b.begin() + static_cast<std::ptrdiff_t>(b_end));
  e.ids.push_back(m.p2);
  e.type_ids.resize(e.ids.size(), m.type_b);
  return e;
}

void check_template(ServedModel& m) {
  const Tokenizer& tok = m.model->tokenizer();
  if (tok.num_special_tokens(false) != 2 || tok.num_special_tokens(true) != 3) return;
  Encoding empty = tok.encode_pair("", "", 0);
  Encoding single = tok.encode("", 0);
  if (empty.ids.size() != 3 || single.ids.size() != 2 || single.ids[0] != empty.ids[0] || single.ids[1] != empty.ids[1])
    return;
  m.p0 = empty.ids[0];
  m.p1 = empty.ids[1];
  m.p2 = empty.ids[2];
  m.type_a = empty.type_ids[1];
  m.type_b = empty.type_ids[2];
  m.pair_template = true;
  // Verify on a sample, with and without truncation.
  const char* q = "how do i reset my password?";
  const char* d = "Click 'Forgot password' on the sign-in page, then follow the link we e-mail you.";
  for (size_t max_len : {size_t{0}, size_t{12}, size_t{7}}) {
    Encoding want = tok.encode_pair(q, d, max_len);
    std::vector<int32_t> a = content(tok.encode(q, 0)), b = content(tok.encode(d, 0));
    if (max_len) tok::truncate_longest_first(a, &b, max_len - 3);
    Encoding got = assemble(m, a, b, 0, b.size());
    if (got.ids != want.ids || got.type_ids != want.type_ids) {
      m.pair_template = false;
      return;
    }
  }
}

size_t model_max_length(const ServedModel& m) { return m.model->info().max_length; }

}  // namespace

std::vector<std::unique_ptr<ServedModel>> load_models(const ServerOptions& options) {
  if (options.models.empty() && options.collection.empty())
    throw InputError("serve: give at least one --model (or a --collection to search)");
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
  if (!m.pair_template) {
    if (opt.chunking || opt.max_tokens_per_doc)
      throw ApiError(422, "model '" + m.name + "': max_tokens_per_doc and chunking need a BERT-style pair template");
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
  const size_t budget = max_len > 3 ? max_len - 3 : 0;
  const std::vector<int32_t> q = content(tok.encode(query, 0));
  for (size_t i = 0; i < documents.size(); ++i) {
    if (opt.chunking) {
      // The document's tokens (up to max_tokens_per_doc, and never more than the request may send).
      size_t cap = opt.max_tokens_per_doc ? opt.max_tokens_per_doc : max_request_tokens;
      std::vector<int32_t> d = content(tok.encode(documents[i], cap >= SIZE_MAX - 2 ? 0 : cap + 2));
      // The document gets at least half the budget; the query is cut (LongestFirst-style) to the rest.
      size_t window = budget - std::min(q.size(), budget / 2);
      if (window == 0) window = 1;
      std::vector<int32_t> qa = q;
      if (qa.size() + window > budget && budget >= window) qa.resize(budget - window);
      const size_t step = window > opt.chunk_overlap ? window - opt.chunk_overlap : 1;
      size_t start = 0;
      for (;;) {
        const size_t end = std::min(d.size(), start + window);
        add(assemble(m, qa, d, start, end), i);
        if (end >= d.size()) break;
        start += step;
      }
      continue;
    }
    size_t cap = std::max(budget, q.size()) + 1;  // LongestFirst only needs this many document tokens
    if (opt.max_tokens_per_doc) cap = std::min(cap, opt.max_tokens_per_doc);
    std::vector<int32_t> d = content(tok.encode(documents[i], cap + 2));
    std::vector<int32_t> a = q;
    if (a.size() + d.size() > budget) {
      if (!opt.truncate)
        throw ApiError(413, "documents[" + std::to_string(i) + "]: the pair has more than " + std::to_string(max_len) +
                                " tokens, the model's maximum (set \"truncate\": true)");
      tok::truncate_longest_first(a, &d, budget);
    }
    add(assemble(m, a, d, 0, d.size()), i);
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

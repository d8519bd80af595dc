// docs/INTEGRATIONS.md against `rerank serve`: the OpenSearch ml-commons connector and the Elasticsearch inference
// endpoints (cohere and custom services) as the document configures them. For each, the test reads the document's
// blocks marked `<!-- checked: NAME -->`, builds the HTTP request the engine would send from them (the way the
// engine's source builds it: ml-commons' cohere rerank pre-process function and `${parameters.*}` substitution,
// Elasticsearch's CohereV2RerankRequest body, the custom service's `${query}`/`${input}` template), sends it to the
// server (the fixture cross-encoder under the document's model name) and reads the answer the way the engine
// parses it (ml-commons' cohere rerank post-process function; Elasticsearch's results/index/relevance_score/
// document.text; the custom service's JSONPath json_parser). Scores must equal the library's.
#include <gtest/gtest.h>
#include <httplib.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "rerank/rerank.hpp"
#include "rerank/server.hpp"
#include "test_util.hpp"

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr const char* kModelName = "ms-marco-MiniLM-L-6-v2";  // what the document's configurations name
constexpr const char* kKey = "test-key";

// The fenced block after the line `<!-- checked: NAME -->` in docs/INTEGRATIONS.md (without its fences).
std::string doc_block(const std::string& name) {
  const fs::path doc = fs::path(RERANK_TEST_DATA).parent_path().parent_path() / "docs" / "INTEGRATIONS.md";
  std::ifstream in(doc);
  if (!in) throw std::runtime_error("cannot read " + doc.string());
  std::string line, out;
  int state = 0;  // 0: looking for the marker, 1: for the opening fence, 2: inside
  while (std::getline(in, line)) {
    if (state == 0 && line == "<!-- checked: " + name + " -->") state = 1;
    else if (state == 1 && line.rfind("```", 0) == 0) state = 2;
    else if (state == 2 && line.rfind("```", 0) == 0) return out;
    else if (state == 2) out += line + "\n";
  }
  throw std::runtime_error(doc.string() + ": no block marked '" + name + "'");
}

// A console-style block: an optional request line ("PUT /_inference/...") then a JSON body.
struct ConsoleRequest {
  std::string method, path;
  json body;
};
ConsoleRequest console(const std::string& block) {
  ConsoleRequest r;
  std::string text = block;
  if (!text.empty() && std::isupper(static_cast<unsigned char>(text[0]))) {
    const size_t nl = text.find('\n');
    std::istringstream first(text.substr(0, nl));
    first >> r.method >> r.path;
    text = text.substr(nl + 1);
  }
  r.body = json::parse(text);
  return r;
}

// The path of an http URL ("http://host:8080/v2/rerank" -> "/v2/rerank").
std::string url_path(const std::string& url) {
  const size_t scheme = url.find("://");
  const size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  return slash == std::string::npos ? "/" : url.substr(slash);
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
  return s;
}

// Gson's default serialization of a list of strings, as ml-commons' pre-process functions produce it: JSON with
// HTML-safe escapes (<, >, &, =, ' as \u00XX).
std::string gson_strings(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ",";
    out += "\"";
    for (unsigned char c : v[i]) {
      char buf[8];
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        case '<': case '>': case '&': case '=': case '\'':
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
          break;
        default:
          if (c < 0x20) {
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
          } else {
            out += static_cast<char>(c);
          }
      }
    }
    out += "\"";
  }
  return out + "]";
}

// A JSONPath of the form $.a.b[*].c (what the custom service's json_parser takes here): every value it selects.
void jsonpath_collect(const json& node, const std::vector<std::string>& steps, size_t i, std::vector<json>& out) {
  if (i == steps.size()) {
    out.push_back(node);
    return;
  }
  if (steps[i] == "[*]") {
    if (node.is_array())
      for (const auto& e : node) jsonpath_collect(e, steps, i + 1, out);
    return;
  }
  if (node.is_object() && node.contains(steps[i])) jsonpath_collect(node[steps[i]], steps, i + 1, out);
}
std::vector<json> jsonpath(const json& root, const std::string& path) {
  if (path.rfind("$", 0) != 0) throw std::runtime_error("JSONPath must start with $: " + path);
  std::vector<std::string> steps;
  std::string cur;
  for (size_t i = 1; i < path.size(); ++i) {
    if (path[i] == '.') {
      if (!cur.empty()) steps.push_back(cur);
      cur.clear();
    } else if (path.compare(i, 3, "[*]") == 0) {
      if (!cur.empty()) steps.push_back(cur);
      cur.clear();
      steps.push_back("[*]");
      i += 2;
    } else {
      cur += path[i];
    }
  }
  if (!cur.empty()) steps.push_back(cur);
  std::vector<json> out;
  jsonpath_collect(root, steps, 0, out);
  return out;
}

class Integrations : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("rerank-integrations-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    fs::copy(rerank::test::data("encoders/models/ce-tiny"), dir_ / kModelName, fs::copy_options::recursive);
    rerank::ServerOptions o = rerank::test::server_options({(dir_ / kModelName).string()});
    o.api_key = kKey;
    server_ = new rerank::Server(o);
    port_ = server_->start();
    model_ = rerank::Model::load((dir_ / kModelName).string());
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    model_.reset();
    fs::remove_all(dir_);
  }

  static httplib::Result post(const std::string& path, const std::string& body, const httplib::Headers& headers) {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(20, 0);
    return c.Post(path.c_str(), headers, body, "application/json");
  }

  // sigmoid(logit) per document: what relevance_score must be.
  static std::vector<double> expected_scores(const std::string& query, const std::vector<std::string>& docs) {
    rerank::CrossEncoder ce(model_, {.threads = 1});
    std::vector<std::pair<std::string, std::string>> pairs;
    for (const auto& d : docs) pairs.emplace_back(query, d);
    std::vector<double> out;
    for (const auto& p : ce.predict(pairs)) out.push_back(1.0 / (1.0 + std::exp(-static_cast<double>(p.logits[0]))));
    return out;
  }

  static fs::path dir_;
  static rerank::Server* server_;
  static int port_;
  static std::shared_ptr<const rerank::Model> model_;
};
fs::path Integrations::dir_;
rerank::Server* Integrations::server_ = nullptr;
int Integrations::port_ = 0;
std::shared_ptr<const rerank::Model> Integrations::model_;

// ml-commons' CohereRerankPostProcessFunction on the answer: `$.results` must be a list of maps with an Integer
// `index` and a Double `relevance_score` (Java casts: a JSON integer literal as score would throw), and the
// indices must fill 0..n-1 (scores[index] of an array sized by the results). Returns the "similarity" list.
std::vector<double> mlcommons_post_process(const json& answer, size_t n_docs) {
  const json& results = answer.at("results");
  EXPECT_TRUE(results.is_array());
  EXPECT_EQ(results.size(), n_docs) << "the pre-process function asks top_n = number of documents";
  std::vector<double> scores(results.size(), NAN);
  for (const auto& r : results) {
    EXPECT_TRUE(r.at("index").is_number_integer()) << r;
    EXPECT_TRUE(r.at("relevance_score").is_number_float()) << "not a Double for ml-commons: " << r;
    const size_t idx = r.at("index").get<size_t>();
    EXPECT_LT(idx, scores.size());
    if (idx < scores.size()) {
      EXPECT_TRUE(std::isnan(scores[idx])) << "index " << idx << " twice";
      scores[idx] = r.at("relevance_score").get<double>();
    }
  }
  return scores;
}

TEST_F(Integrations, OpenSearchMlCommonsCohereConnector) {
  const ConsoleRequest create = console(doc_block("opensearch-connector"));
  EXPECT_EQ(create.method, "POST");
  EXPECT_EQ(create.path, "/_plugins/_ml/connectors/_create");
  const json& c = create.body;
  EXPECT_EQ(c.at("protocol"), "http");
  ASSERT_EQ(c.at("actions").size(), 1u);
  const json& action = c["actions"][0];
  EXPECT_EQ(action.at("action_type"), "predict");
  EXPECT_EQ(action.at("method"), "POST");
  EXPECT_EQ(action.at("pre_process_function"), "connector.pre_process.cohere.rerank");
  EXPECT_EQ(action.at("post_process_function"), "connector.post_process.cohere.rerank");

  // The model's _predict input (TextSimilarityInputDataSet) as the document shows it.
  const ConsoleRequest predict = console(doc_block("opensearch-predict"));
  EXPECT_EQ(predict.method, "POST");
  const std::string query = predict.body.at("query_text");
  const auto docs = predict.body.at("text_docs").get<std::vector<std::string>>();
  ASSERT_GE(docs.size(), 2u);

  // ml-commons: connector parameters (strings as they are, other values as JSON), overridden by the pre-process
  // function's {query, documents, top_n}; then ${parameters.X} and ${credential.X} substituted.
  std::map<std::string, std::string> params;
  for (const auto& [k, v] : c.at("parameters").items()) params[k] = v.is_string() ? v.get<std::string>() : v.dump();
  params["query"] = query;
  params["documents"] = gson_strings(docs);
  params["top_n"] = std::to_string(docs.size());
  auto substitute = [&](std::string s) {
    for (const auto& [k, v] : params) s = replace_all(s, "${parameters." + k + "}", v);
    for (const auto& [k, v] : c.at("credential").items()) s = replace_all(s, "${credential." + k + "}", kKey);
    EXPECT_EQ(s.find("${"), std::string::npos) << "unresolved placeholder in " << s;
    return s;
  };
  const std::string url = substitute(action.at("url"));
  EXPECT_EQ(url_path(url), "/v2/rerank");
  const std::string body = substitute(action.at("request_body"));
  // What the document says ml-commons sends is what it does send.
  EXPECT_EQ(json::parse(body), json::parse(doc_block("opensearch-request"))) << body;
  httplib::Headers headers;
  for (const auto& [k, v] : action.at("headers").items()) headers.emplace(k, substitute(v));

  auto r = post(url_path(url), body, headers);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const std::vector<double> similarity = mlcommons_post_process(json::parse(r->body), docs.size());
  const std::vector<double> want = expected_scores(query, docs);
  for (size_t i = 0; i < docs.size(); ++i) EXPECT_NEAR(similarity[i], want[i], 1e-5) << "document " << i;

  // The document's sample answer of the server passes the same post-process function, and its sample _predict
  // output has one "similarity" tensor per document.
  const json sample = json::parse(doc_block("opensearch-response"));
  const auto sample_scores = mlcommons_post_process(sample, docs.size());
  const json out = json::parse(doc_block("opensearch-predict-response")).at("inference_results").at(0).at("output");
  ASSERT_EQ(out.size(), docs.size());
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_EQ(out[i].at("name"), "similarity");
    EXPECT_NEAR(out[i].at("data").at(0).get<double>(), sample_scores[i], 1e-6) << "document " << i;
  }
}

// Elasticsearch's CohereRankedResponseEntity: results[] with index, relevance_score and document.text.
void check_es_results(const json& answer, const std::vector<std::string>& input, size_t top_n, bool with_text,
                      const std::vector<double>& want) {
  const json& results = answer.at("results");
  ASSERT_EQ(results.size(), std::min(top_n, input.size()));
  for (size_t k = 0; k < results.size(); ++k) {
    const json& r = results[k];
    ASSERT_TRUE(r.at("index").is_number_integer());
    ASSERT_TRUE(r.at("relevance_score").is_number());
    const size_t idx = r["index"].get<size_t>();
    ASSERT_LT(idx, input.size());
    EXPECT_NEAR(r["relevance_score"].get<double>(), want[idx], 1e-5);
    if (k > 0) {
      EXPECT_GE(results[k - 1]["relevance_score"].get<double>(), r["relevance_score"].get<double>());
    }
    if (with_text) {
      EXPECT_EQ(r.at("document").at("text"), input[idx]);
    }
  }
}

TEST_F(Integrations, ElasticsearchCohereService) {
  const ConsoleRequest put = console(doc_block("elasticsearch-cohere"));
  EXPECT_EQ(put.method, "PUT");
  EXPECT_EQ(put.path.rfind("/_inference/rerank/", 0), 0u) << put.path;
  const json& e = put.body;
  EXPECT_EQ(e.at("service"), "cohere");
  const json& ss = e.at("service_settings");
  EXPECT_EQ(ss.at("model_id"), kModelName);
  EXPECT_EQ(url_path(ss.at("url")), "/v2/rerank");
  const json ts = e.value("task_settings", json::object());

  const ConsoleRequest call = console(doc_block("elasticsearch-rerank-call"));
  EXPECT_EQ(call.method, "POST");
  const std::string query = call.body.at("query");
  const auto input = call.body.at("input").get<std::vector<std::string>>();

  // CohereV2RerankRequest.toXContent: model, query, documents, then return_documents and top_n from the task
  // settings (or the call), and max_chunks_per_doc when set.
  json body;
  body["model"] = ss["model_id"];
  body["query"] = query;
  body["documents"] = input;
  if (ts.contains("return_documents")) body["return_documents"] = ts["return_documents"];
  if (ts.contains("top_n")) body["top_n"] = ts["top_n"];
  if (ts.contains("max_chunks_per_doc")) body["max_chunks_per_doc"] = ts["max_chunks_per_doc"];
  const httplib::Headers headers = {{"Authorization", std::string("Bearer ") + kKey},
                                    {"Request-Source", "unspecified:elasticsearch"}};
  auto r = post(url_path(ss["url"]), body.dump(), headers);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const size_t top_n = ts.contains("top_n") ? ts["top_n"].get<size_t>() : input.size();
  const bool with_text = ts.value("return_documents", false);
  check_es_results(json::parse(r->body), input, top_n, with_text, expected_scores(query, input));

  // The minimal body (no task settings) ranks every document.
  auto m = post("/v2/rerank", json{{"model", kModelName}, {"query", query}, {"documents", input}}.dump(), headers);
  ASSERT_TRUE(m);
  ASSERT_EQ(m->status, 200) << m->body;
  check_es_results(json::parse(m->body), input, input.size(), false, expected_scores(query, input));

  // The document's sample answer of Elasticsearch has the shape it documents: rerank[] of index, relevance_score,
  // text.
  const json sample = json::parse(doc_block("elasticsearch-rerank-response")).at("rerank");
  ASSERT_EQ(sample.size(), top_n);
  for (const auto& s : sample) {
    const size_t idx = s.at("index").get<size_t>();
    ASSERT_LT(idx, input.size());
    EXPECT_TRUE(s.at("relevance_score").is_number());
    if (with_text) {
      EXPECT_EQ(s.at("text"), input[idx]);
    }
  }
}

TEST_F(Integrations, ElasticsearchCustomService) {
  const ConsoleRequest put = console(doc_block("elasticsearch-custom"));
  EXPECT_EQ(put.method, "PUT");
  const json& e = put.body;
  EXPECT_EQ(e.at("service"), "custom");
  const json& ss = e.at("service_settings");
  const ConsoleRequest call = console(doc_block("elasticsearch-rerank-call"));
  const std::string query = call.body.at("query");
  const auto input = call.body.at("input").get<std::vector<std::string>>();

  // The custom service: ${query} becomes the query as a JSON string, ${input} the documents as a JSON list;
  // secret parameters fill the headers.
  std::string body = ss.at("request");
  body = replace_all(body, "${query}", json(query).dump());
  body = replace_all(body, "${input}", json(input).dump());
  EXPECT_EQ(body.find("${"), std::string::npos) << body;
  httplib::Headers headers;
  const json secrets = ss.value("secret_parameters", json::object());
  for (const auto& [k, v] : ss.at("headers").items()) {
    std::string value = v;
    for (const auto& [sk, sv] : secrets.items()) value = replace_all(value, "${" + sk + "}", kKey);
    EXPECT_EQ(value.find("${"), std::string::npos) << value;
    headers.emplace(k, value);
  }
  auto r = post(url_path(ss.at("url")), body, headers);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json answer = json::parse(r->body);

  const json& parser = ss.at("response").at("json_parser");
  const auto scores = jsonpath(answer, parser.at("relevance_score"));
  const auto indices = jsonpath(answer, parser.at("reranked_index"));
  ASSERT_EQ(scores.size(), input.size());
  ASSERT_EQ(indices.size(), scores.size());
  std::vector<json> texts;
  if (parser.contains("document_text")) {
    texts = jsonpath(answer, parser["document_text"]);
    ASSERT_EQ(texts.size(), scores.size());
  }
  const auto want = expected_scores(query, input);
  for (size_t k = 0; k < scores.size(); ++k) {
    ASSERT_TRUE(indices[k].is_number_integer());
    ASSERT_TRUE(scores[k].is_number());
    const size_t idx = indices[k].get<size_t>();
    ASSERT_LT(idx, input.size());
    EXPECT_NEAR(scores[k].get<double>(), want[idx], 1e-5);
    if (!texts.empty()) {
      EXPECT_EQ(texts[k], input[idx]);
    }
  }
}

TEST_F(Integrations, WrongKeyIsRefusedAsTheEnginesReport) {
  // Both engines surface the remote status and body: a wrong key is a 401 with a JSON message.
  auto r = post("/v2/rerank", json{{"query", "q"}, {"documents", {"a"}}}.dump(), {{"Authorization", "Bearer wrong"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_TRUE(json::parse(r->body).contains("message"));
}

}  // namespace

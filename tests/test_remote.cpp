// The remote backends against our own rerank::Server in-process (ephemeral port, fixture models): cohere:MODEL
// scores = sigmoid(CrossEncoder logit), openai:MODEL embeddings = BiEncoder.encode, both batched; `rerank search`
// with --reranker cohere:… and a collection indexed with openai:… reopened and searched dense through the CLI.
// Then local fake services: 429 + Retry-After then 200, a service slower than the timeout, 401, malformed answers.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "clients/remote.hpp"
#include "local_server.hpp"
#include "rerank/rerank.hpp"
#include "rerank/reranker.hpp"
#include "rerank/server.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace rerank;
using rerank::test::error_of;
using rerank::test::LocalServer;

namespace {

// Tolerances: the server computes the same float32 forward pass as the local model (packed, batch-independent);
// sigmoid is taken in double there and here, JSON carries ~17 significant digits.
constexpr double kScoreTol = 1e-5;
constexpr double kEmbTol = 1e-5;

const std::string kCe = test::data("encoders/models/ce-tiny").string();
const std::string kBi = test::data("encoders/models/bi-tiny-mean").string();
const std::string kQuery = test::kPasswordQuery;
const std::vector<std::string> kDocs = test::kPasswordDocs;

/// One server for the suite: ce-tiny and bi-tiny-mean, no key.
class Remote : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new Server(rerank::test::server_options({kCe, kBi}));
    port_ = server_->start();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static std::string base() { return "http://127.0.0.1:" + std::to_string(port_); }
  static RemoteOptions remote(std::string base_url) {
    RemoteOptions r;
    r.base_url = std::move(base_url);
    r.timeout_seconds = 20;
    r.backoff_seconds = 0.01;
    return r;
  }
  /// Requests answered since `before` (httplib logs, and so counts, a request just after sending the answer).
  static uint64_t answered_since(const Server& s, uint64_t before, uint64_t expected) {
    for (int i = 0; i < 200 && s.stats().requests - before < expected; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // and nothing more arrives
    return s.stats().requests - before;
  }
  static Server* server_;
  static int port_;
};
Server* Remote::server_ = nullptr;
int Remote::port_ = 0;

std::vector<float> local_logits(const std::string& q, const std::vector<std::string>& docs) {
  CrossEncoder ce(Model::load(kCe), {.threads = 1});
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& d : docs) pairs.emplace_back(q, d);
  std::vector<float> out;
  for (const auto& p : ce.predict(pairs)) out.push_back(p.logits.at(0));
  return out;
}

fs::path temp_dir(const std::string& name) { return test::temp_path("rerank-remote", name); }

}  // namespace

TEST_F(Remote, CohereScoresAreSigmoidOfTheCrossEncoderLogits) {
  const auto logits = local_logits(kQuery, kDocs);
  for (size_t max_batch : {size_t{0}, size_t{3}}) {  // one request; batches of 3, 3 and 1
    RemoteOptions o = remote(base());
    o.max_batch = max_batch;
    auto r = make_reranker("cohere:ce-tiny", BackendOptions{.remote = o});
    EXPECT_EQ(r->name(), "cohere:ce-tiny");
    const uint64_t before = server_->stats().requests;
    const auto scores = r->score(kQuery, kDocs);
    EXPECT_EQ(answered_since(*server_, before, max_batch ? 3 : 1), max_batch ? 3u : 1u);
    ASSERT_EQ(scores.size(), kDocs.size());
    for (size_t i = 0; i < kDocs.size(); ++i)
      EXPECT_NEAR(scores[i], 1.0 / (1.0 + std::exp(-static_cast<double>(logits[i]))), kScoreTol) << "document " << i;
  }
  auto r = make_reranker("cohere:ce-tiny", BackendOptions{.remote = remote(base())});
  EXPECT_TRUE(r->score(kQuery, {}).empty());
  // an unknown model: the server's 404 message, no retry
  auto bad = make_reranker("cohere:no-such-model", BackendOptions{.remote = remote(base())});
  const std::string m = error_of<RemoteError>([&] { bad->score(kQuery, kDocs); });
  EXPECT_NE(m.find("HTTP 404"), std::string::npos) << m;
  EXPECT_NE(m.find("no-such-model"), std::string::npos) << m;
  EXPECT_NE(m.find(base() + "/v2/rerank"), std::string::npos) << m;
  EXPECT_THROW(make_reranker("cohere:ce-tiny", BackendOptions{.remote = remote("localhost:1")}), InputError);
}

TEST_F(Remote, CohereSendsTheKeyAndReportsA401) {
  ServerOptions o = rerank::test::server_options({kCe});
  o.api_key = "s3cret";
  Server keyed(o);
  const std::string url = "http://127.0.0.1:" + std::to_string(keyed.start());
  RemoteOptions ro = remote(url);
  ro.api_key = "s3cret";
  const uint64_t first = keyed.stats().requests;
  EXPECT_EQ(make_reranker("cohere:ce-tiny", BackendOptions{.remote = ro})->score(kQuery, kDocs).size(), kDocs.size());
  answered_since(keyed, first, 1);
  ro.api_key = "wrong";
  auto r = make_reranker("cohere:ce-tiny", BackendOptions{.remote = ro});
  const uint64_t before = keyed.stats().requests;
  const std::string m = error_of<RemoteError>([&] { r->score(kQuery, kDocs); });
  EXPECT_NE(m.find("HTTP 401"), std::string::npos) << m;
  EXPECT_EQ(answered_since(keyed, before, 1), 1u);  // not retried
  // the key from the environment
  ::setenv("CO_API_KEY", "s3cret", 1);
  EXPECT_EQ(make_reranker("cohere:ce-tiny", BackendOptions{.remote = remote(url)})->score(kQuery, kDocs).size(), kDocs.size());
  ::unsetenv("CO_API_KEY");
}

TEST_F(Remote, SearchCliRerankingThroughCohereMatchesTheLocalModel) {
  const fs::path dir = temp_dir("cli-cohere");
  auto r = test::run_cli("index --collection " + dir.string() + " " + test::data("retrieval/corpus.jsonl").string(), "");
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string common = "search --collection " + dir.string() + " --k 6 --top-n 6 --threads 1 --json \"" + kQuery + "\"";
  auto local = test::run_cli(common + " --reranker " + kCe, "");
  ASSERT_EQ(local.status, 0) << local.err;
  auto remote_run = test::run_cli(common + " --reranker cohere:ce-tiny --reranker-url " + base(), "");
  ASSERT_EQ(remote_run.status, 0) << remote_run.err;
  const json a = json::parse(local.out), b = json::parse(remote_run.out);
  ASSERT_GE(a["reranked"].size(), 3u);  // the documents with "reset" or "password"
  ASSERT_EQ(a["reranked"].size(), a["first_stage"].size());
  ASSERT_EQ(b["reranked"].size(), a["reranked"].size());
  EXPECT_EQ(a["first_stage"], b["first_stage"]);
  for (size_t i = 0; i < a["reranked"].size(); ++i) {
    const json &x = a["reranked"][i], &y = b["reranked"][i];
    EXPECT_EQ(x["id"], y["id"]) << "rank " << i + 1;  // sigmoid keeps the order (ce-tiny's scores are logits)
    EXPECT_EQ(x["first_stage_rank"], y["first_stage_rank"]);
    EXPECT_NEAR(y["score"].get<double>(), 1.0 / (1.0 + std::exp(-x["score"].get<double>())), kScoreTol);
  }
  // a service that is not there: exit 1 naming the URL, after --remote-attempts tries
  const std::string dead = "http://127.0.0.1:" + std::to_string(test::unused_port());
  auto fail = test::run_cli(common + " --reranker cohere:ce-tiny --remote-attempts 2 --reranker-url " + dead, "");
  EXPECT_EQ(fail.status, 1);
  EXPECT_NE(fail.err.find(dead + "/v2/rerank"), std::string::npos) << fail.err;
  EXPECT_NE(fail.err.find("2 attempts"), std::string::npos) << fail.err;
  fs::remove_all(dir);
}

TEST_F(Remote, OpenAiEmbeddingsEqualTheLocalBiEncoder) {
  BiEncoder local(Model::load(kBi), {.threads = 1});
  const auto want = local.encode(kDocs);
  for (size_t max_batch : {size_t{0}, size_t{2}}) {
    RemoteOptions o = remote(base() + "/v1/");
    o.max_batch = max_batch;
    auto e = make_embedder("openai:bi-tiny-mean", BackendOptions{.remote = o});
    EXPECT_EQ(e->identity(), "openai:bi-tiny-mean@" + base() + "/v1");
    const uint64_t probe = server_->stats().requests;
    EXPECT_EQ(e->dimension(), want[0].size());  // a probe request
    EXPECT_EQ(answered_since(*server_, probe, 1), 1u);
    const uint64_t before = server_->stats().requests;
    const auto got = e->embed(kDocs, EmbedKind::Passage);
    EXPECT_EQ(answered_since(*server_, before, max_batch ? 4 : 1), max_batch ? 4u : 1u);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(got[i].size(), want[i].size());
      for (size_t d = 0; d < got[i].size(); ++d) EXPECT_NEAR(got[i][d], want[i][d], kEmbTol) << i << "," << d;
    }
  }
  // the identity never holds a key or credentials, and finds the service again
  RemoteOptions o = remote("http://user:pw@127.0.0.1:" + std::to_string(port_) + "/v1");
  o.api_key = "sk-secret";
  auto e = make_embedder("openai:bi-tiny-mean", BackendOptions{.remote = o});
  EXPECT_EQ(e->identity(), "openai:bi-tiny-mean@" + base() + "/v1");
  auto again = embedder_from_identity(e->identity());
  EXPECT_EQ(again->identity(), e->identity());
  const auto v = again->embed({kDocs[0]}, EmbedKind::Query);
  ASSERT_EQ(v.size(), 1u);
  for (size_t d = 0; d < v[0].size(); ++d) EXPECT_NEAR(v[0][d], want[0][d], kEmbTol);
  std::string model, url;
  EXPECT_TRUE(parse_openai_identity("openai:org/m@v2@https://h/v1", model, url));
  EXPECT_EQ(model, "org/m@v2");
  EXPECT_EQ(url, "https://h/v1");
  EXPECT_FALSE(parse_openai_identity("openai:m", model, url));
}

TEST_F(Remote, CollectionIndexedWithOpenAiIsReopenedAndSearchedDense) {
  const fs::path dir = temp_dir("cli-openai"), local_dir = temp_dir("local-bi"), corpus = temp_dir("short.jsonl");
  // the fixture corpus without its one long document: one passage per document whichever way it is chunked (the
  // local bi-encoder chunks by its tokens, a remote embedder of unknown window by 512 words)
  std::vector<Document> docs;
  {
    std::ofstream out(corpus);
    for (const auto& j : test::read_jsonl(test::data("retrieval/corpus.jsonl"))) {
      const std::string text = j["text"];
      if (text.size() > 1000) continue;
      out << j.dump() << "\n";
      docs.push_back({j["_id"], j["title"], text, ""});
    }
  }
  ASSERT_GE(docs.size(), 10u);
  auto r = test::run_cli("index --collection " + dir.string() + " --bi-encoder openai:bi-tiny-mean --bi-encoder-url " + base() +
                             "/v1 " + corpus.string(),
                         "");
  ASSERT_EQ(r.status, 0) << r.err;
  {
    auto c = Collection::open(dir);
    EXPECT_EQ(c.stats().embedder, "openai:bi-tiny-mean@" + base() + "/v1");
    EXPECT_EQ(c.stats().passages, docs.size());
  }
  // the same corpus embedded locally: the dense rankings must agree
  std::vector<std::string> want_ids;
  std::vector<float> want_scores;
  {
    auto c = Collection::open_or_create(local_dir);
    c.set_embedder(make_bi_encoder_embedder(kBi, {.threads = 1}));
    c.add(docs);
    EXPECT_EQ(c.stats().passages, docs.size());
    for (const auto& h : c.search_dense(kQuery, 5)) {
      want_ids.push_back(h.doc_id);
      want_scores.push_back(h.score);
    }
  }
  // no --bi-encoder: the CLI finds the service from the collection's identity
  auto s = test::run_cli("search --collection " + dir.string() + " --retriever dense --k 5 --json \"" + kQuery + "\"", "");
  ASSERT_EQ(s.status, 0) << s.err;
  const json j = json::parse(s.out);
  ASSERT_EQ(j["first_stage"].size(), want_ids.size());
  for (size_t i = 0; i < want_ids.size(); ++i) {
    EXPECT_EQ(j["first_stage"][i]["id"], want_ids[i]) << "rank " << i + 1;
    EXPECT_NEAR(j["first_stage"][i]["score"].get<double>(), want_scores[i], 1e-4);
  }
  // hybrid with a Cohere reranker: both remote backends in one pipeline
  s = test::run_cli("search --collection " + dir.string() + " --retriever hybrid --k 5 --reranker cohere:ce-tiny --reranker-url " +
                        base() + " --json \"" + kQuery + "\"",
                    "");
  ASSERT_EQ(s.status, 0) << s.err;
  EXPECT_EQ(json::parse(s.out)["reranked"].size(), 5u);
  fs::remove_all(dir);
  fs::remove_all(local_dir);
  fs::remove(corpus);
}

// ---- fake services --------------------------------------------------------------------------------------

namespace {

/// A Cohere- and OpenAI-shaped fake: the first `fail_first` calls answer `fail_status` (with Retry-After),
/// then `body` (or a computed valid answer when `body` is empty) after `delay_ms`.
struct Fake {
  std::atomic<int> calls{0};
  int fail_first = 0, fail_status = 429, status = 200, delay_ms = 0;
  size_t max_items = 1000000;  ///< more documents/inputs in one request: 413
  std::vector<size_t> sizes;   ///< documents/inputs per request answered
  std::string retry_after = "1", body;
  LocalServer srv{[this](httplib::Server& s) {
    auto handler = [this](bool cohere) {
      return [this, cohere](const httplib::Request& req, httplib::Response& res) {
        const int n = ++calls;
        if (n <= fail_first) {
          res.status = fail_status;
          res.set_header("Retry-After", retry_after);
          res.set_content(R"({"message": "slow down"})", "application/json");
          return;
        }
        if (delay_ms) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
        res.status = status;
        if (!body.empty()) {
          res.set_content(body, "application/json");
          return;
        }
        const json in = json::parse(req.body);
        const size_t items = in[cohere ? "documents" : "input"].size();
        if (items > max_items) {
          res.status = 413;
          res.set_content(R"({"message": "too many texts"})", "application/json");
          return;
        }
        sizes.push_back(items);
        json out;
        if (cohere) {
          out["results"] = json::array();
          const size_t docs = in["documents"].size();
          for (size_t i = docs; i-- > 0;) out["results"].push_back({{"index", i}, {"relevance_score", 0.1 * double(i)}});
        } else {
          out["data"] = json::array();
          for (size_t i = in["input"].size(); i-- > 0;) out["data"].push_back({{"index", i}, {"embedding", {double(i), 1.0}}});
        }
        res.set_content(out.dump(), "application/json");
      };
    };
    s.Post("/v2/rerank", handler(true));
    s.Post("/v1/embeddings", handler(false));
  }};
  RemoteOptions options(int attempts = 3, double timeout = 5) const {
    RemoteOptions o;
    o.base_url = srv.url();
    o.max_attempts = attempts;
    o.timeout_seconds = timeout;
    o.backoff_seconds = 0.01;
    return o;
  }
};

}  // namespace

TEST(RemoteFake, A429WithRetryAfterThenSuccess) {
  Fake f;
  f.fail_first = 1;
  auto r = make_cohere_reranker("m", f.options());
  const auto t0 = std::chrono::steady_clock::now();
  const auto s = r->score("q", {"a", "b", "c"});
  EXPECT_GE(test::seconds_since(t0), 0.9);  // waited Retry-After: 1 (backoff alone is 0.01 s)
  EXPECT_EQ(f.calls.load(), 2);
  ASSERT_EQ(s.size(), 3u);  // in document order although the answer is sorted by score
  EXPECT_NEAR(s[0], 0.0, 1e-6);
  EXPECT_NEAR(s[2], 0.2, 1e-6);
  Fake g;
  g.fail_first = 2;
  g.fail_status = 502;
  g.retry_after = "0";
  RemoteOptions o = g.options();
  o.base_url += "/v1";
  auto e = make_openai_embedder("m", o);
  const auto v = e->embed({"x", "y"}, EmbedKind::Passage);
  EXPECT_EQ(g.calls.load(), 3);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[1], (std::vector<float>{1.0f, 1.0f}));
  EXPECT_EQ(e->dimension(), 2u);  // known from the answer: no probe
  EXPECT_EQ(g.calls.load(), 3);
}

TEST(RemoteFake, A413HalvesTheBatch) {
  Fake f;
  f.max_items = 2;
  RemoteOptions o = f.options();
  o.base_url += "/v1";
  auto e = make_openai_embedder("m", o);
  const auto v = e->embed({"a", "b", "c", "d", "e"}, EmbedKind::Passage);
  ASSERT_EQ(v.size(), 5u);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(v[i][0], float(i % 2)) << i;  // the fake's index within its request
  EXPECT_EQ(f.sizes, (std::vector<size_t>{2, 2, 1}));  // 5 -> 413, then 2 (the half), 2, 1
  Fake g;
  g.max_items = 3;
  auto r = make_cohere_reranker("m", g.options());
  EXPECT_EQ(r->score("q", {"a", "b", "c", "d", "e", "f", "g"}).size(), 7u);
  EXPECT_EQ(g.sizes, (std::vector<size_t>{3, 3, 1}));  // 7 -> 413, 3 -> ok
  Fake h;
  h.max_items = 0;  // nothing fits: the 413 is reported
  auto one = make_cohere_reranker("m", h.options());
  EXPECT_NE(error_of<RemoteError>([&] { one->score("q", {"a", "b"}); }).find("HTTP 413: too many texts"), std::string::npos);
}

TEST(RemoteFake, AServiceSlowerThanTheTimeoutFailsClearlyAfterMaxAttempts) {
  Fake f;
  f.delay_ms = 1000;
  auto r = make_cohere_reranker("m", f.options(3, 0.2));
  const std::string m = error_of<RemoteError>([&] { r->score("q", {"a"}); });
  EXPECT_NE(m.find("Cohere rerank (cohere:m) at " + f.srv.url() + "/v2/rerank"), std::string::npos) << m;
  EXPECT_NE(m.find("timed out after 0.2 s"), std::string::npos) << m;
  EXPECT_NE(m.find("gave up after 3 attempts"), std::string::npos) << m;
  EXPECT_EQ(f.calls.load(), 3);
}

TEST(RemoteFake, A401IsReportedAtOnce) {
  Fake f;
  f.status = 401;
  f.body = R"({"message": "invalid api token"})";
  auto r = make_cohere_reranker("m", f.options());
  const std::string m = error_of<RemoteError>([&] { r->score("q", {"a"}); });
  EXPECT_NE(m.find("HTTP 401: invalid api token"), std::string::npos) << m;
  EXPECT_EQ(f.calls.load(), 1);
  RemoteOptions o = f.options();
  o.base_url += "/v1";
  auto e = make_openai_embedder("m", o);
  EXPECT_NE(error_of<RemoteError>([&] { e->embed({"a"}, EmbedKind::Query); }).find("HTTP 401"), std::string::npos);
  EXPECT_EQ(f.calls.load(), 2);
}

TEST(RemoteFake, MalformedCohereAnswersAreClearErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not json", "malformed JSON answer"},
      {R"([1, 2])", "expected a JSON object"},
      {R"({"foo": 1})", "no \"results\" list"},
      {R"({"results": [{"index": 0, "relevance_score": 0.5}]})", "1 results for 2 documents"},
      {R"({"results": [{"index": 0, "relevance_score": 0.5}, {"index": 0, "relevance_score": 0.4}]})", "appears twice"},
      {R"({"results": [{"index": 0, "relevance_score": 0.5}, {"index": 2, "relevance_score": 0.4}]})", "out of range"},
      {R"({"results": [{"index": 0, "relevance_score": 0.5}, {"index": -1, "relevance_score": 0.4}]})", "out of range"},
      {R"({"results": [{"index": "0", "relevance_score": 0.5}, {"index": 1, "relevance_score": 0.4}]})", "must be an integer"},
      {R"({"results": [{"index": 0, "relevance_score": "high"}, {"index": 1, "relevance_score": 0.4}]})", "finite number"},
      {R"({"results": [{"index": 0}, {"index": 1, "relevance_score": 0.4}]})", "relevance_score"},
      {R"({"results": [1, 2]})", "is not an object"},
      {R"({"results": [{"relevance_score": 1}, {"index": 1, "relevance_score": 0.4}]})", "has no \"index\""},
  };
  for (const auto& [body, want] : cases) {
    Fake f;
    f.body = body;
    auto r = make_cohere_reranker("m", f.options());
    const std::string m = error_of<RemoteError>([&] { r->score("q", {"a", "b"}); });
    EXPECT_NE(m.find(want), std::string::npos) << body << " -> " << m;
    EXPECT_NE(m.find(f.srv.url() + "/v2/rerank"), std::string::npos) << m;
    EXPECT_EQ(f.calls.load(), 1) << "malformed answers are not retried";
  }
}

TEST(RemoteFake, MalformedEmbeddingAnswersAreClearErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"<html>", "malformed JSON answer"},
      {R"({"object": "list"})", "no \"data\" list"},
      {R"({"data": [{"index": 0, "embedding": [1, 2]}]})", "1 embeddings for 2 inputs"},
      {R"({"data": [{"index": 0, "embedding": [1, 2]}, {"index": 1, "embedding": [1, 2, 3]}]})", "dimensions"},
      {R"({"data": [{"index": 0, "embedding": [1, 2]}, {"index": 0, "embedding": [1, 2]}]})", "two embeddings"},
      {R"({"data": [{"index": 0, "embedding": "AAAA"}, {"index": 1, "embedding": [1, 2]}]})", "base64"},
      {R"({"data": [{"index": 0, "embedding": [1, null]}, {"index": 1, "embedding": [1, 2]}]})", "not a finite number"},
      {R"({"data": [{"index": 0, "embedding": []}, {"index": 1, "embedding": [1, 2]}]})", "non-empty list"},
      {R"({"data": [{"index": 5, "embedding": [1]}, {"index": 1, "embedding": [1]}]})", "out of range"},
  };
  for (const auto& [body, want] : cases) {
    Fake f;
    f.body = body;
    RemoteOptions o = f.options();
    o.base_url += "/v1";
    auto e = make_openai_embedder("m", o);
    const std::string m = error_of<RemoteError>([&] { e->embed({"a", "b"}, EmbedKind::Passage); });
    EXPECT_NE(m.find(want), std::string::npos) << body << " -> " << m;
  }
}

TEST(RemoteFake, SpecsAndOptionsAreValidated) {
  EXPECT_THROW(make_reranker("cohere:", {}), InputError);
  EXPECT_THROW(make_embedder("openai:", {}), InputError);
  BackendOptions b;
  b.remote.base_url = "http://127.0.0.1:1";
  b.remote.timeout_seconds = 0;
  EXPECT_THROW(make_reranker("cohere:m", b), InputError);
  b.remote.timeout_seconds = 1;
  b.remote.max_attempts = 0;
  EXPECT_THROW(make_embedder("openai:m", b), InputError);
}
